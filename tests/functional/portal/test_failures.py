"""A failure injected at each step of a change leaves a state that ``manage reconcile`` repairs.

Every change commits its catalog items and an intent in one transaction, then writes the backup,
the registry entry and the deployment file, and deletes the intent. These tests break one step at
a time, show the state right after, run the repair command, and show the state is then complete.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client
from chalicelib import manage
from chalicelib.container import Services
from chalicelib.services.backend import Backend

from broker_contract.catalog import component_key
from broker_contract.dynamo_items import serialize
from broker_contract.names import schema_backup_key
from tests.functional.portal.conftest import BILLING, ORDER_DATA, SHOP, body, create_event, s3_json, s3_keys, subscribe

EVENT = {"application": "shop", "event_type": "order-created", "connection_type": "HTTPS", "data": ORDER_DATA}


def inject(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, when: Callable[..., bool] = lambda *a: True
) -> None:
    original = getattr(target, name)

    def failing(*args: Any, **kwargs: Any) -> Any:
        if when(*args):
            raise RuntimeError(f"injected failure in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def state(backend: Backend) -> dict[str, Any]:
    """What a user or operator could observe: catalog, backups, registry, files, records, intents."""
    config = backend.config
    event, versions = backend.catalog.get_event_with_versions("order-created")
    files = {}
    for bucket in (config.producer_bucket_name, config.consumer_bucket_name):
        for key in s3_keys(backend, bucket):
            document = s3_json(backend, bucket, key)
            files[key] = (document["action"], document["sequence"])
    intents = backend.catalog.pending_intents()
    # files are named <component>/<sequence>-<deployment id>.json; intents name the ids they owe
    deployment_ids = {key.rsplit("/", 1)[1].split("-", 1)[1].removesuffix(".json") for key in files}
    deployment_ids |= {deployment_id for intent in intents for deployment_id in intent.deployment_ids.values()}
    records = [backend.deployments.get(deployment_id) for deployment_id in sorted(deployment_ids)]
    return {
        "event": event is not None,
        "versions": [version.version for version in versions],
        "backups": s3_keys(backend, config.schema_bucket_name),
        "registry": sorted(backend.registry.schemas),  # type: ignore[attr-defined]
        "files": sorted(files.values()),
        "records": sorted(record.status.value for record in records if record is not None),
        "intents": [intent.op for intent in intents],
    }


def reconcile(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run the operator's command (``python -m chalicelib.manage reconcile``) in-process."""
    capsys.readouterr()
    code = manage.main(["reconcile"])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    report["exit_code"] = code
    return report


COMPLETE = {
    "event": True,
    "versions": [1],
    "backups": [schema_backup_key("order-created", 1)],
    "registry": ["order-created.v1"],
    "files": [("deploy", 1)],
    "records": ["pending"],
    "intents": [],
}


def test_failed_commit_leaves_nothing(client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    inject(monkeypatch, backend.catalog, "transact")
    response = client.http.post("/events", headers=SHOP, body=body(EVENT))
    assert response.status_code == 500
    assert response.json_body["error"]["code"] == "internal"
    assert state(backend) == {
        "event": False,
        "versions": [],
        "backups": [],
        "registry": [],
        "files": [],
        "records": [],
        "intents": [],
    }
    monkeypatch.undo()
    assert client.http.post("/events", headers=SHOP, body=body(EVENT)).status_code == 201  # a retry just works


STEPS: dict[str, tuple[Callable[[Backend], tuple[object, str, Callable[..., bool]]], str, dict[str, Any]]] = {
    "backup": (
        lambda b: (b.storage, "put_json", lambda bucket, *rest: bucket == b.config.schema_bucket_name),
        "backup",
        {"backups": [], "registry": [], "files": [], "records": []},
    ),
    "registry": (
        lambda b: (b.registry, "register", lambda *a: True),
        "registry",
        {"registry": [], "files": [], "records": []},
    ),
    "sequence": (
        lambda b: (b.deployments, "reserve_sequence", lambda *a: True),
        "deployment",
        {"files": [], "records": []},
    ),
    "record": (
        lambda b: (b.deployments, "create", lambda *a: True),
        "deployment",
        {"files": [], "records": []},
    ),
    "file": (
        lambda b: (b.storage, "put_text", lambda *a: True),
        "deployment",
        {"files": []},  # the record exists (pending) but its file does not
    ),
    "intent": (
        lambda b: (b.catalog, "delete_intent", lambda *a: True),
        "intent",
        {},
    ),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_create_failure_at_each_step_is_repaired_by_reconcile(
    step: str,
    client: Client,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_target, reported_step, missing = STEPS[step]
    target, name, when = make_target(backend)
    inject(monkeypatch, target, name, when)

    response = client.http.post("/events", headers=SHOP, body=body(EVENT))

    assert response.status_code == 503
    error = response.json_body["error"]
    assert error["code"] == "incomplete"
    assert f"step '{reported_step}' failed" in error["message"]
    assert "python -m chalicelib.manage reconcile" in error["message"]
    assert state(backend) == {**COMPLETE, **missing, "intents": ["provision_version"]}
    # the event is visible and owned: the catalog is the commit point
    assert client.http.get("/events/order-created", headers=SHOP).status_code == 200
    # a retry of the same POST is a 409, not a second event
    assert client.http.post("/events", headers=SHOP, body=body(EVENT)).status_code == 409

    monkeypatch.undo()
    report = reconcile(capsys)

    assert report["exit_code"] == 0
    assert len(report["completed"]) == 1
    assert report["failed"] == {}
    repaired = state(backend)
    expected = dict(COMPLETE)
    if step == "record":
        # the first reserved sequence was lost with the failed write: the file carries the next one
        expected["files"] = [("deploy", 2)]
    assert repaired == expected
    # reconcile is idempotent: running it again changes nothing
    assert reconcile(capsys)["completed"] == []
    assert state(backend) == expected


def test_reconcile_reports_steps_that_still_fail(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inject(monkeypatch, backend.registry, "register")
    assert client.http.post("/events", headers=SHOP, body=body(EVENT)).status_code == 503
    report = reconcile(capsys)
    assert report["exit_code"] == 1
    assert next(iter(report["failed"].values())).startswith("step 'registry' of intent int-")
    assert state(backend)["intents"] == ["provision_version"]


def test_update_failure_after_commit_is_repaired(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_event(client)
    data = copy.deepcopy(ORDER_DATA)
    data["properties"]["note"] = {"type": "string"}
    inject(monkeypatch, backend.storage, "put_text")
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": data}))
    assert response.status_code == 503
    assert state(backend)["files"] == [("deploy", 1)]
    assert state(backend)["versions"] == [1, 2]
    monkeypatch.undo()
    reconcile(capsys)
    after = state(backend)
    assert after["files"] == [("deploy", 1), ("deploy", 1)]  # v1 and v2, each sequence 1 of its component
    assert after["registry"] == ["order-created.v1", "order-created.v2"]
    assert after["intents"] == []


def test_subscribe_and_unsubscribe_failures_are_repaired(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_event(client)
    inject(monkeypatch, backend.storage, "put_text")
    payload = {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "SQS",
        "connection_string": "arn:aws:sqs:eu-west-1:111122223333:billing",
    }
    response = client.http.post("/subscriptions", headers=BILLING, body=body(payload))
    assert response.status_code == 503
    # the subscription is stored (and counted) but has no consumer file yet
    listed = client.http.get("/subscriptions", headers=BILLING).json_body["items"]
    assert len(listed) == 1
    assert s3_keys(backend, backend.config.consumer_bucket_name) == []
    assert client.http.post("/subscriptions", headers=BILLING, body=body(payload)).status_code == 409
    monkeypatch.undo()
    reconcile(capsys)
    assert [
        s3_json(backend, backend.config.consumer_bucket_name, k)["action"]
        for k in s3_keys(backend, backend.config.consumer_bucket_name)
    ] == ["deploy"]

    subscription_id = listed[0]["subscription_id"]
    inject(monkeypatch, backend.storage, "put_text")
    assert client.http.delete(f"/subscriptions/{subscription_id}", headers=BILLING).status_code == 503
    assert client.http.get(f"/subscriptions/{subscription_id}", headers=BILLING).status_code == 404
    assert state(backend)["intents"] == ["unsubscribe"]
    monkeypatch.undo()
    reconcile(capsys)
    assert sorted(
        s3_json(backend, backend.config.consumer_bucket_name, k)["action"]
        for k in s3_keys(backend, backend.config.consumer_bucket_name)
    ) == ["deploy", "destroy"]
    assert state(backend)["intents"] == []


def test_delete_failure_keeps_backup_until_teardown_is_requested(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_event(client)
    inject(monkeypatch, backend.storage, "put_text")
    assert client.http.delete("/events/order-created", headers=SHOP).status_code == 503
    after_failure = state(backend)
    assert (after_failure["event"], after_failure["intents"]) == (False, ["retire_versions"])
    assert after_failure["backups"] == [schema_backup_key("order-created", 1)]  # needed to write the destroy file
    monkeypatch.undo()
    reconcile(capsys)
    assert state(backend) == {
        "event": False,
        "versions": [],
        "backups": [],
        "registry": [],
        "files": [("deploy", 1), ("destroy", 2)],
        "records": ["pending", "pending"],
        "intents": [],
    }


def test_reconcile_restores_missing_backups_and_rebuild_registry(
    client: Client, services: Services, backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    create_event(client)
    subscribe(client)
    key = schema_backup_key("order-created", 1)
    original = s3_json(backend, backend.config.schema_bucket_name, key)
    backend.storage.delete(backend.config.schema_bucket_name, key)
    report = reconcile(capsys)
    assert report["backups_restored"] == [key]
    assert s3_json(backend, backend.config.schema_bucket_name, key) == original

    backend.registry.schemas.clear()  # type: ignore[attr-defined]
    backend.storage.put_json(
        backend.config.schema_bucket_name, "schemas/ghost/v1.json", {**original, "event_type": "ghost"}
    )
    capsys.readouterr()
    assert manage.main(["rebuild-registry"]) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt == {"registered": [key], "orphans": ["schemas/ghost/v1.json"]}
    assert backend.registry.schemas == {"order-created.v1": original["schema"]}  # type: ignore[attr-defined]


def test_sequence_is_reserved_atomically_per_component(client: Client, backend: Backend) -> None:
    create_event(client)
    client.http.delete("/events/order-created", headers=SHOP)
    create_event(client)  # same component again: deploy 1, destroy 2, deploy 3
    item = backend.catalog.client.get_item(
        TableName=backend.config.catalog_table_name, Key=serialize(component_key("producer-order-created-v1"))
    )["Item"]
    assert item["next_sequence"] == {"N": "3"}
    assert state(backend)["files"] == [("deploy", 1), ("deploy", 3), ("destroy", 2)]
