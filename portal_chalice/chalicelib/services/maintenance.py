"""Repair commands: finish interrupted changes, and rebuild the schema registry from the S3 backup."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from broker_contract.catalog import BY_LISTING
from broker_contract.names import schema_backup_key
from chalicelib.records import EVENTS_PARTITION, EventRecord
from chalicelib.services.backend import Backend
from chalicelib.services.workflows import StepFailed, Workflows, backup_document

logger = logging.getLogger(__name__)

BACKUP_PREFIX = "schemas/"


@dataclass
class ReconcileReport:
    """What ``reconcile`` did: intents completed or still failing, backups restored from the catalog."""

    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    backups_restored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class RebuildReport:
    """What ``rebuild-registry`` registered, and backups with no version in the catalog."""

    registered: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)


class Maintenance:
    """``python -m chalicelib.manage reconcile`` / ``rebuild-registry``."""

    def __init__(self, backend: Backend, workflows: Workflows) -> None:
        self.backend = backend
        self.workflows = workflows

    def reconcile(self) -> ReconcileReport:
        """Run every pending intent again, then restore any missing backup from the catalog."""
        report = ReconcileReport()
        for intent in self.backend.catalog.pending_intents():
            try:
                self.workflows.run(intent)
            except StepFailed as failure:
                report.failed[intent.intent_id] = str(failure)
                continue
            report.completed.append(intent.intent_id)
        storage, bucket = self.backend.storage, self.backend.config.schema_bucket_name
        for event in self._events():
            _, versions = self.backend.catalog.get_event_with_versions(event.event_type)
            for version in versions:
                key = schema_backup_key(event.event_type, version.version)
                if storage.get_json(bucket, key) is None:
                    storage.put_json(bucket, key, backup_document(event, version))
                    report.backups_restored.append(key)
        return report

    def _events(self) -> list[EventRecord]:
        items = self.backend.catalog.query_all(EVENTS_PARTITION, index=BY_LISTING)
        return [EventRecord.model_validate(item) for item in items]

    def rebuild_registry(self) -> RebuildReport:
        """Register every backed-up schema whose version is in the catalog; report the other backups."""
        report = RebuildReport()
        storage, bucket = self.backend.storage, self.backend.config.schema_bucket_name
        for key in storage.keys(bucket, BACKUP_PREFIX):
            backup = storage.get_json(bucket, key)
            if not isinstance(backup, dict) or "schema" not in backup:
                report.orphans.append(key)
                continue
            event_type, number = str(backup["event_type"]), int(backup["version"])
            if self.backend.catalog.get_version(event_type, number) is None:
                report.orphans.append(key)
                continue
            self.backend.registry.register(event_type, number, backup["schema"], str(backup.get("description", "")))
            report.registered.append(key)
        return report
