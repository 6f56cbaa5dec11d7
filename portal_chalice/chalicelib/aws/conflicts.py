"""What a lost write on the catalog table means, in the product's words.

The catalog adapters (``catalog``, ``guards``) build every conditional write together with the
exception its failed condition means (``Write``); when DynamoDB cancels a transaction, the adapter
raises the exception of the first write whose condition failed. Services catch these, never
``ClientError`` nor cancellation reasons, and turn them into API errors.
"""

from __future__ import annotations


class CatalogConflict(Exception):
    """A conditional write on the catalog lost to a concurrent change; nothing of its transaction was stored."""


class LostUpdate(CatalogConflict):
    """An item changed (or appeared, or went) since it was read, or a concurrent transaction held it."""


class EventExists(CatalogConflict):
    """The event type exists already (created by a concurrent request)."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"event type {event_type!r} exists already")
        self.event_type = event_type


class VersionMissing(CatalogConflict):
    """The event version a change refers to does not exist (any more)."""

    def __init__(self, event_type: str, version: int) -> None:
        super().__init__(f"event type {event_type!r} has no version {version}")
        self.event_type = event_type
        self.version = version


class DuplicateSubscription(CatalogConflict):
    """The same subscription (event version, target unit and target) exists already.

    ``existing`` is its id, when it could still be read after the write lost.
    """

    def __init__(self, existing: str | None) -> None:
        super().__init__(f"the same subscription exists already: {existing or 'unknown'}")
        self.existing = existing


class QuotaExceeded(CatalogConflict):
    """A quota counter would cross its limit: a concurrent change took the last places."""

    def __init__(self, counter: str, amount: int) -> None:
        super().__init__(f"quota counter {counter}: no room for {amount} more")
        self.counter = counter
        self.amount = amount


class ApplicationTaken(CatalogConflict):
    """Another team claimed the application first; ``owner`` is that team when it could be read."""

    def __init__(self, application: str, owner: str | None) -> None:
        super().__init__(f"application {application} belongs to {owner or 'another team'}")
        self.application = application
        self.owner = owner
