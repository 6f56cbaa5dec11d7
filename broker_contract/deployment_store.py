"""The deployment store: the one owner of deployment records and of each component's handled sequence.

Portal and generator both go through it: the portal reserves a component's sequence and creates the
pending record; the generator creates it when a file arrives without one, claims the file for its
component (ordering and idempotency), holds the record with a lease while it works, and moves it
through the statuses of :data:`broker_contract.models.ALLOWED_FROM`, recording the artifact key,
instructions and outputs with each transition. Every write is conditional; a lost condition is a
domain exception (:class:`TransitionRefused`, :class:`LeaseHeld`), never a ``ClientError`` for the caller.

Two implementations of one interface (:class:`DeploymentStore`):
``broker_contract.dynamodb_store.DynamoDBDeploymentStore`` over an injected low-level DynamoDB client
(kept in its own module, so importing the interface loads no boto3), and :class:`InMemoryDeploymentStore`,
a fake with the same rules for tests. The item
format is the catalog's (``DeploymentRecord.to_item``, ``catalog.component_key``); records stored
before this module existed read the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from broker_contract.catalog import component_key, deployment_key
from broker_contract.models import ALLOWED_FROM, DeploymentStatus
from broker_contract.records import DeploymentRecord, StatusChange, utc_now


class DeploymentStoreError(Exception):
    """Base of the store's domain exceptions."""


class DeploymentExists(DeploymentStoreError):
    """A record with this deployment id exists already (``create``)."""


class TransitionRefused(DeploymentStoreError):
    """The record is missing or not in a status the transition is allowed from: another run got there first."""

    def __init__(self, deployment_id: str, status: DeploymentStatus) -> None:
        super().__init__(f"deployment {deployment_id}: change to {status.value} refused")
        self.deployment_id = deployment_id
        self.status = status


class LeaseHeld(DeploymentStoreError):
    """A live lease of another run holds the deployment."""


class ClaimOutcome(StrEnum):
    """What a claim of a component's sequence found."""

    #: the sequence is now the newest the component has handled: process the file
    CLAIMED = "claimed"
    #: this very file (sequence and deployment id) was claimed before: a duplicate or a retry
    SAME_FILE = "same-file"
    #: a newer (or equal, other) sequence of the component was handled already
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`DeploymentStore.claim` and the component's newest handled sequence."""

    outcome: ClaimOutcome
    handled_sequence: int


class DeploymentStore(Protocol):
    """Deployment records and component claims; see the module docstring."""

    def reserve_sequence(self, component_id: str) -> int:
        """The component's next deployment sequence (1, 2, 3 ...), reserved atomically."""
        ...

    def create(self, record: DeploymentRecord) -> None:
        """Store a new record; :class:`DeploymentExists` when one with its id exists."""
        ...

    def create_pending(self, record: DeploymentRecord) -> DeploymentRecord:
        """Store ``record`` unless one with its id exists; the stored record either way (the existing one wins)."""
        ...

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        """The record (consistent read), or None."""
        ...

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        """The record's status (consistent read), or None when there is no record."""
        ...

    def claim(self, component_id: str, sequence: int, deployment_id: str, at: datetime | None = None) -> Claim:
        """Record ``sequence`` as the component's newest handled one if it is newer than what was handled."""
        ...

    def newer_sequence(self, component_id: str, sequence: int) -> int | None:
        """The component's handled sequence when it is newer than ``sequence`` (claimed meanwhile)."""
        ...

    def take_lease(self, deployment_id: str, owner: str, seconds: float) -> None:
        """Hold the record for ``seconds``; :class:`LeaseHeld` while another owner's lease has not expired."""
        ...

    def release_lease(self, deployment_id: str, owner: str) -> None:
        """Give the lease up if ``owner`` still holds it (a lease taken over is left to its new owner)."""
        ...

    def transition(self, deployment_id: str, update: StatusUpdate) -> None:
        """Move the record to ``update.status`` if allowed by ``ALLOWED_FROM``, else :class:`TransitionRefused`.

        Appends ``{status, at, detail}`` to ``history``, sets ``updated_at`` and the fields the update
        records, and sets ``error`` (``failed``) or removes it (any other status).
        """
        ...


@dataclass(frozen=True)
class StatusUpdate:
    """One status change of a deployment record, and what the record keeps with it.

    ``error`` is set with ``failed``; any other status removes the record's error. ``artifact_key``,
    ``instructions`` and ``outputs`` are recorded when given, and left as they are otherwise.
    """

    status: DeploymentStatus
    detail: str | None = None
    error: str | None = None
    artifact_key: str | None = None
    instructions: str | None = None
    outputs: dict[str, str] | None = field(default=None, hash=False)

    def history_entry(self, at: datetime) -> dict[str, Any]:
        """The ``history`` entry of this change, in its stored form."""
        return StatusChange(status=self.status, at=at, detail=self.detail).model_dump(mode="json", exclude_none=True)

    def recorded(self) -> dict[str, Any]:
        """The record's fields this change sets besides status, history and error."""
        given = {"artifact_key": self.artifact_key, "instructions": self.instructions, "outputs": self.outputs}
        return {name: value for name, value in given.items() if value is not None}


class InMemoryDeploymentStore:
    """:class:`DeploymentStore` in a dict, with the same rules (tests and offline runs); thread-safe."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        #: items by their primary key, in the same document form as the catalog's
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: dict[str, str]) -> tuple[str, str]:
        return key["pk"], key["sk"]

    def reserve_sequence(self, component_id: str) -> int:
        with self._lock:
            item = self.items.setdefault(self._key(component_key(component_id)), dict(component_key(component_id)))
            item["next_sequence"] = int(item.get("next_sequence", 0)) + 1
            item["component_id"] = component_id
            return int(item["next_sequence"])

    def create(self, record: DeploymentRecord) -> None:
        with self._lock:
            key = self._key(deployment_key(record.deployment_id))
            if key in self.items:
                raise DeploymentExists(record.deployment_id)
            self.items[key] = record.to_item()

    def create_pending(self, record: DeploymentRecord) -> DeploymentRecord:
        try:
            self.create(record)
        except DeploymentExists:
            existing = self.get(record.deployment_id)
            if existing is None:  # records are never deleted
                raise
            return existing
        return record

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        with self._lock:
            item = self.items.get(self._key(deployment_key(deployment_id)))
            return DeploymentRecord.from_item(dict(item)) if item else None

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        with self._lock:
            item = self.items.get(self._key(deployment_key(deployment_id)))
            return DeploymentStatus(item["status"]) if item and "status" in item else None

    def claim(self, component_id: str, sequence: int, deployment_id: str, at: datetime | None = None) -> Claim:
        with self._lock:
            item = self.items.setdefault(self._key(component_key(component_id)), dict(component_key(component_id)))
            handled = int(item.get("handled_sequence", 0))
            if "handled_sequence" not in item or handled < sequence:
                item.update(
                    handled_sequence=sequence,
                    handled_deployment_id=deployment_id,
                    handled_at=(at or self.clock()).isoformat(),
                )
                return Claim(ClaimOutcome.CLAIMED, sequence)
            same = handled == sequence and item.get("handled_deployment_id") == deployment_id
            return Claim(ClaimOutcome.SAME_FILE if same else ClaimOutcome.SUPERSEDED, handled)

    def newer_sequence(self, component_id: str, sequence: int) -> int | None:
        with self._lock:
            handled = int(self.items.get(self._key(component_key(component_id)), {}).get("handled_sequence", 0))
            return handled if handled > sequence else None

    def take_lease(self, deployment_id: str, owner: str, seconds: float) -> None:
        now = self.clock()
        with self._lock:
            # like an UpdateItem, a lease on a missing record creates a bare item
            item = self.items.setdefault(self._key(deployment_key(deployment_id)), dict(deployment_key(deployment_id)))
            expires = item.get("lease_expires_at")
            if expires is not None and expires >= now.isoformat() and item.get("lease_owner") != owner:
                raise LeaseHeld(deployment_id)
            item.update(lease_owner=owner, lease_expires_at=(now + timedelta(seconds=seconds)).isoformat())

    def release_lease(self, deployment_id: str, owner: str) -> None:
        with self._lock:
            item = self.items.get(self._key(deployment_key(deployment_id)))
            if item is not None and item.get("lease_owner") == owner:
                item.pop("lease_owner", None)
                item.pop("lease_expires_at", None)

    def transition(self, deployment_id: str, update: StatusUpdate) -> None:
        change = update.history_entry(self.clock())
        with self._lock:
            item = self.items.get(self._key(deployment_key(deployment_id)))
            if item is None or item.get("status") not in {state.value for state in ALLOWED_FROM[update.status]}:
                raise TransitionRefused(deployment_id, update.status)
            item.update(status=update.status.value, updated_at=change["at"], **update.recorded())
            item["history"] = [*item.get("history", []), change]
            if update.error is None:
                item.pop("error", None)
            else:
                item["error"] = update.error
