"""The steps owed after a catalog commit, run from an intent (request path and ``manage reconcile``).

Every change first commits its catalog items together with an intent (one transaction); the
steps below then bring S3, the registry and the deployment files in line, and the intent is
deleted last. A failure leaves the intent behind; running it again is safe because each step is
idempotent (same backup content, create-or-update in the registry, deployment ids fixed in the
intent). Order within a step set: backup (source of truth) -> registry -> deployment file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from pydantic import TypeAdapter

from broker_contract.models import (
    Consumer,
    ConsumerDeployment,
    DeploymentAction,
    EventVersionRef,
    HttpsProducer,
    ProducerDeployment,
    SqsProducer,
)
from broker_contract.names import consumer_component_id, producer_component_id, schema_backup_key
from broker_contract.records import DeploymentRecord
from broker_contract.schemas import envelope_schema
from chalicelib.errors import incomplete
from chalicelib.records import EventRecord, IntentRecord, SubscriptionRecord, VersionRecord
from chalicelib.services.backend import Backend
from chalicelib.services.deployments import DeploymentPlan, submit

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONSUMER_ADAPTER: TypeAdapter[Consumer] = TypeAdapter(Consumer)


class StepFailed(Exception):
    """A step after the catalog commit failed; the intent stays for ``manage reconcile``."""

    def __init__(self, step: str, intent_id: str, cause: Exception) -> None:
        super().__init__(f"step '{step}' of intent {intent_id} failed: {cause.__class__.__name__}")
        self.step = step
        self.intent_id = intent_id
        self.cause = cause


def backup_document(event: EventRecord, version: VersionRecord) -> dict[str, Any]:
    """The S3 backup of one version: enough to rebuild the registry and the version's deployment."""
    return {
        "event_type": event.event_type,
        "version": version.version,
        "application": event.application,
        "connection_type": event.connection_type,
        "description": version.description,
        "data_schema": version.data_schema,
        "schema": envelope_schema(version.data_schema, event.event_type, version.version),
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
    }


def consumer_model(subscription: SubscriptionRecord) -> Consumer:
    """The contract's consumer block for a stored subscription."""
    data: dict[str, Any] = {
        "connection_type": subscription.connection_type,
        "connection_string": subscription.connection_string,
    }
    if subscription.auth is not None:
        data["auth"] = subscription.auth
    if subscription.connection_type == "SQS":
        data["manage_queue_policy"] = subscription.manage_queue_policy
    return CONSUMER_ADAPTER.validate_python(data)


def consumer_deployment(
    environment: str,
    event: EventRecord,
    subscription: SubscriptionRecord,
    *,
    action: DeploymentAction,
    deployment_id: str,
    sequence: int,
    requested_by: str,
    requested_at: datetime,
) -> ConsumerDeployment:
    """The consumer deployment file of a stored subscription (raises ``ValidationError`` when it is not valid)."""
    return ConsumerDeployment(
        deployment_id=deployment_id,
        action=action,
        sequence=sequence,
        environment=environment,
        requested_by=requested_by,
        requested_at=requested_at,
        subscription_id=subscription.subscription_id,
        event=EventVersionRef(application=event.application, event_type=event.event_type, version=subscription.version),
        target_unit=subscription.target_unit,
        consumer=consumer_model(subscription),
        content_filter=subscription.content_filter,
        max_retry_attempts=subscription.retry_attempts,
        max_event_age_seconds=subscription.maximum_event_age_seconds,
    )


class Workflows:
    """Runs intents; see the module docstring for the guarantees."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _step(self, name: str, intent: IntentRecord, action: Callable[[], T]) -> T:
        try:
            return action()
        except Exception as error:
            logger.warning("intent %s: step %s failed", intent.intent_id, name, exc_info=True)
            raise StepFailed(name, intent.intent_id, error) from error

    def run(self, intent: IntentRecord) -> list[DeploymentRecord]:
        """Carry out every step of ``intent`` and delete it; ``StepFailed`` names the step that failed."""
        handlers = {
            "provision_version": self._provision,
            "retire_versions": self._retire,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
        }
        records = handlers[intent.op](intent)
        self._step("intent", intent, partial(self.backend.catalog.delete_intent, intent.intent_id))
        return records

    # --- producers --------------------------------------------------------------------------

    def _producer_plan(
        self,
        intent: IntentRecord,
        event: EventRecord,
        version: int,
        *,
        action: DeploymentAction,
        description: str,
        schema: dict[str, Any],
    ) -> DeploymentPlan:
        producer = HttpsProducer() if event.connection_type == "HTTPS" else SqsProducer()

        def build(sequence: int) -> ProducerDeployment:
            return ProducerDeployment(
                deployment_id=intent.deployment_ids[str(version)],
                action=action,
                sequence=sequence,
                environment=self.backend.config.environment,
                requested_by=intent.requested_by,
                requested_at=intent.requested_at,
                event=EventVersionRef(application=event.application, event_type=event.event_type, version=version),
                description=description,
                producer=producer,
                envelope_schema=schema,
            )

        return DeploymentPlan(
            deployment_id=intent.deployment_ids[str(version)],
            kind="producer",
            component_id=producer_component_id(event.event_type, version),
            action=action,
            event_type=event.event_type,
            version=version,
            requested_by=intent.requested_by,
            requested_at=intent.requested_at,
            build=build,
            event_owner=event.owner,
        )

    def _provision(self, intent: IntentRecord) -> list[DeploymentRecord]:
        catalog, storage, config = self.backend.catalog, self.backend.storage, self.backend.config
        records = []
        for number in intent.versions:
            event = catalog.get_event(intent.event_type)
            version = catalog.get_version(intent.event_type, number)
            if event is None or version is None:
                logger.info(
                    "intent %s: %s v%s is gone, nothing to provision", intent.intent_id, intent.event_type, number
                )
                continue
            backup = backup_document(event, version)
            key = schema_backup_key(event.event_type, number)
            self._step("backup", intent, partial(storage.put_json, config.schema_bucket_name, key, backup))
            self._step(
                "registry",
                intent,
                partial(
                    self.backend.registry.register, intent.event_type, number, backup["schema"], version.description
                ),
            )
            plan = self._producer_plan(
                intent,
                event,
                number,
                action=DeploymentAction.DEPLOY,
                description=version.description,
                schema=backup["schema"],
            )
            records.append(self._step("deployment", intent, partial(submit, self.backend, plan)))
        return records

    def _retire(self, intent: IntentRecord) -> list[DeploymentRecord]:
        storage, config = self.backend.storage, self.backend.config
        event = intent.event
        if event is None:
            raise ValueError(f"intent {intent.intent_id} has no event snapshot")
        records = []
        for number in intent.versions:
            key = schema_backup_key(event.event_type, number)
            backup = self._step("backup", intent, partial(storage.get_json, config.schema_bucket_name, key))
            if backup is not None:
                schema, description = backup["schema"], str(backup.get("description", ""))
            else:
                # The backup was never written (its provisioning failed too): the teardown only
                # needs the component's identity, so the schema of an empty data object will do.
                logger.warning("intent %s: no backup for %s v%s", intent.intent_id, event.event_type, number)
                schema, description = envelope_schema({"type": "object"}, event.event_type, number), ""
            plan = self._producer_plan(
                intent, event, number, action=DeploymentAction.DESTROY, description=description, schema=schema
            )
            records.append(self._step("deployment", intent, partial(submit, self.backend, plan)))
            self._step("registry", intent, partial(self.backend.registry.remove, event.event_type, number))
            self._step("backup", intent, partial(storage.delete, config.schema_bucket_name, key))
        return records

    # --- consumers --------------------------------------------------------------------------

    def _consumer_plan(
        self, intent: IntentRecord, event: EventRecord, subscription: SubscriptionRecord, action: DeploymentAction
    ) -> DeploymentPlan:
        deployment_id = intent.deployment_ids[subscription.subscription_id]

        def build(sequence: int) -> ConsumerDeployment:
            return consumer_deployment(
                self.backend.config.environment,
                event,
                subscription,
                action=action,
                deployment_id=deployment_id,
                sequence=sequence,
                requested_by=intent.requested_by,
                requested_at=intent.requested_at,
            )

        return DeploymentPlan(
            deployment_id=deployment_id,
            kind="consumer",
            component_id=consumer_component_id(subscription.subscription_id),
            action=action,
            event_type=event.event_type,
            version=subscription.version,
            requested_by=intent.requested_by,
            requested_at=intent.requested_at,
            build=build,
            subscription_id=subscription.subscription_id,
            event_owner=event.owner,
        )

    def _subscribe(self, intent: IntentRecord) -> list[DeploymentRecord]:
        catalog = self.backend.catalog
        records = []
        for snapshot in intent.subscriptions:
            event = catalog.get_event(intent.event_type)
            if event is None or catalog.get_subscription(snapshot.subscription_id) is None:
                logger.info("intent %s: subscription %s is gone", intent.intent_id, snapshot.subscription_id)
                continue
            plan = self._consumer_plan(intent, event, snapshot, DeploymentAction.DEPLOY)
            records.append(self._step("deployment", intent, partial(submit, self.backend, plan)))
        return records

    def _unsubscribe(self, intent: IntentRecord) -> list[DeploymentRecord]:
        event = intent.event
        if event is None:
            raise ValueError(f"intent {intent.intent_id} has no event snapshot")
        records = []
        for snapshot in intent.subscriptions:
            plan = self._consumer_plan(intent, event, snapshot, DeploymentAction.DESTROY)
            records.append(self._step("deployment", intent, partial(submit, self.backend, plan)))
        return records


def run_intent(workflows: Workflows, intent: IntentRecord, what: str) -> list[DeploymentRecord]:
    """Run the intent; a failed step becomes a 503 saying the change is stored and will be completed."""
    try:
        return workflows.run(intent)
    except StepFailed as failure:
        raise incomplete(
            f"{what} is stored, but step '{failure.step}' failed; it is retried by "
            f"'python -m chalicelib.manage reconcile' (intent {failure.intent_id})"
        ) from failure
