"""The whole broker on loopback (moto_server, chalice local, the generator worker), driven over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_mode.broker import LocalBroker
from local_mode.client import PortalClient, Response
from local_mode.processes import free_port, group_members
from local_mode.settings import LocalSettings
from local_mode.summary import endpoint_paths, resources, rules, terraform_document
from local_mode.synth import REPO
from local_mode.terraform import TerraformDecision
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN
from tests.e2e.conftest import seed_workdir

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SETTLED = {"synthesized", "deployed", "destroyed", "failed", "superseded"}
ORDER_V1: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["order_id"],
}
ORDER_V2: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["order_id"],
}
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:e2e-billing-orders"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, core_stacks: Path) -> Iterator[LocalBroker]:
    workdir = tmp_path_factory.mktemp("local")
    seed_workdir(core_stacks, workdir)
    settings = LocalSettings(
        moto_port=free_port(),
        portal_port=free_port(),
        workdir=workdir,
        terraform=TerraformDecision(False, "e2e tests never run terraform"),
    )
    local = LocalBroker(settings)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def shop(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, SHOP_TOKEN)


@pytest.fixture(scope="module")
def billing(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, BILLING_TOKEN)


def settled(portal: PortalClient, deployment_id: str, timeout: float = 45.0) -> dict[str, Any]:
    """The deployment record once its status is final or ``synthesized``."""
    deadline = time.monotonic() + timeout
    while True:
        response = portal.request("GET", f"/deployments/{deployment_id}")
        assert response.status == 200, response
        if response.body["status"] in SETTLED or time.monotonic() > deadline:
            return dict(response.body)
        time.sleep(0.3)


def terraform(portal: PortalClient, deployment_id: str) -> dict[str, Any]:
    response = portal.request("GET", f"/deployments/{deployment_id}/terraform")
    assert response.status == 200, response
    return terraform_document(response.body)


def model_fields(stack: dict[str, Any]) -> list[str]:
    (model,) = resources(stack, "aws_api_gateway_model").values()
    schema = json.loads(model["schema"])
    return sorted(schema["properties"]["data"]["properties"])


def test_event_versions_and_subscription_become_synthesized_stacks(
    broker: LocalBroker, shop: PortalClient, billing: PortalClient
) -> None:
    created = shop.request(
        "POST",
        "/events",
        {"application": "webshop", "event_type": "e2e_order", "connection_type": "HTTPS", "data": ORDER_V1},
    )
    assert created.status == 201, created
    assert (created.body["version"], created.body["producer_endpoint_path"]) == (1, "/e2e_order/1")

    updated = shop.request("PUT", "/events/e2e_order", {"data": ORDER_V2})
    assert updated.status == 200, updated
    assert (updated.body["version"], updated.body["version_created"]) == (2, True)
    assert updated.body["producer_endpoint_path"] == "/e2e_order/2"

    subscribed = billing.request(
        "POST",
        "/subscriptions",
        {
            "event_type": "e2e_order",
            "version": 2,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": QUEUE_ARN,
            "content_filter": {"currency": ["EUR"]},
        },
    )
    assert subscribed.status == 201, subscribed

    not_theirs = billing.request("GET", f"/deployments/{created.body['deployment_id']}")
    assert not_theirs.status == 403, not_theirs

    v1 = settled(shop, created.body["deployment_id"])
    v2 = settled(shop, updated.body["deployment_id"])
    consumer = settled(billing, subscribed.body["deployment_id"])
    assert [v1["status"], v2["status"], consumer["status"]] == ["synthesized"] * 3, (v1, v2, consumer)

    producer_v1 = terraform(shop, created.body["deployment_id"])
    producer_v2 = terraform(shop, updated.body["deployment_id"])
    assert endpoint_paths(producer_v1) == ["/e2e_order/1"]
    assert endpoint_paths(producer_v2) == ["/e2e_order/2"]
    assert model_fields(producer_v1) == ["amount", "order_id"]
    assert model_fields(producer_v2) == ["amount", "currency", "order_id"]

    consumer_stack = terraform(billing, subscribed.body["deployment_id"])
    # the worker got --endpoint-url: terraform, if it ran, would create the component in moto, not in AWS
    (provider,) = consumer_stack["provider"]["aws"]
    assert set(provider["endpoints"][0].values()) == {broker.moto_url}
    assert set(consumer_stack["terraform"]["backend"]["s3"]["endpoints"].values()) == {broker.moto_url}
    (rule,) = rules(consumer_stack)
    assert rule.pattern["detail-type"] == ["e2e_order.2"]
    assert rule.pattern["detail"]["data"] == {"currency": ["EUR"]}
    assert rule.pattern["detail"]["metadata"] == {"event_attributes": {"target": ["billing"]}}
    assert rule.targets == [QUEUE_ARN]

    removed = billing.request("DELETE", f"/subscriptions/{subscribed.body['subscription_id']}")
    assert removed.status == 200, removed
    assert billing.request("GET", f"/subscriptions/{subscribed.body['subscription_id']}").status == 404
    deleted = shop.request("DELETE", "/events/e2e_order")
    assert deleted.status == 200, deleted
    assert sorted(deleted.body["versions"]) == [1, 2]
    assert len(deleted.body["deployment_ids"]) == 2
    # without terraform a teardown, too, stops at synthesized (its destroy plan readable through the portal)
    teardowns = [settled(billing, removed.body["deployment_id"])] + [
        settled(shop, teardown) for teardown in deleted.body["deployment_ids"]
    ]
    assert [record["status"] for record in teardowns] == ["synthesized"] * 3, teardowns
    assert [record["action"] for record in teardowns] == ["destroy"] * 3, teardowns
    assert shop.request("GET", "/events/e2e_order").status == 404


def raw(portal: PortalClient, method: str, path: str, payload: bytes) -> Response:
    return portal.request(method, path, raw=payload)


def test_bad_requests_get_4xx_with_a_reason(shop: PortalClient, billing: PortalClient) -> None:
    malformed = raw(shop, "POST", "/events", b'{"application": "webshop", ')
    assert malformed.status == 400, malformed
    assert "error" in malformed.body

    unknown = shop.request("GET", "/events/no_such_event")
    assert unknown.status == 404, unknown

    subscribe_unknown = billing.request(
        "POST",
        "/subscriptions",
        {
            "event_type": "no_such_event",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": QUEUE_ARN,
        },
    )
    assert subscribe_unknown.status == 404, subscribe_unknown

    bad_field = shop.request(
        "POST",
        "/events",
        {"application": "Web Shop", "event_type": "e2e_bad", "connection_type": "HTTPS", "data": ORDER_V1},
    )
    assert bad_field.status == 400, bad_field
    assert "application" in json.dumps(bad_field.body)

    anonymous = shop.as_team(None).request("GET", "/events")
    assert anonymous.status == 401, anonymous
    wrong_token = shop.as_team("not-a-token").request("GET", "/events")
    assert wrong_token.status == 401, wrong_token


def test_stopping_leaves_no_process_behind(broker: LocalBroker) -> None:
    groups = broker.supervisor.groups()
    assert len(groups) == 3  # moto, portal, generator worker
    assert broker.check_alive() == []
    broker.stop()
    assert [group_members(group) for group in groups] == [[], [], []]
    assert all(not managed.running() for managed in broker.processes.values())
    logs = sorted(path.name for path in Path(broker.settings.workdir, "logs").iterdir())
    assert logs == ["generator.log", "moto.log", "portal.log"]


class Output:
    """Lines a child prints, collected by a thread so the test can wait for one without blocking forever."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if line.startswith(prefix)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, "\n".join(self.lines)
                self._changed.wait(left)


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def stop_after_failure(process: subprocess.Popen[str], children: list[int]) -> None:
    """When an assertion failed mid-test: let local mode clean up; then kill what is left, children included."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # each child leads its own process group (local mode starts them in new sessions)
    for group in [process.pid, *children]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def test_the_command_walks_through_serves_and_stops_everything_on_ctrl_c(
    broker: LocalBroker, core_stacks: Path, tmp_path: Path
) -> None:
    broker.stop()  # one local broker at a time on a 2-core machine
    seed_workdir(core_stacks, tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BROKER_", "AWS_"))}
    env.update({"BROKER_LOCAL_WORKDIR": str(tmp_path), "BROKER_LOCAL_TERRAFORM": "0", "PYTHONUNBUFFERED": "1"})
    moto_port, portal_port = free_port(), free_port()
    command = [sys.executable, "-m", "local_mode", "--moto-port", str(moto_port), "--portal-port", str(portal_port)]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    children: list[int] = []
    try:
        output = Output(process)
        # the last line printed before serving
        output.wait_for(f"  curl -s http://127.0.0.1:{portal_port}/openapi.json", timeout=60)
        children = children_of(process.pid)
        assert len(children) == 3  # moto_server, chalice local, generator worker

        portal = f"http://127.0.0.1:{portal_port}"
        start = output.lines.index("5. which subscriptions sample events reach (EventBridge pattern matching)")
        assert output.lines[start + 1 : start + 4] == [
            "   order o-1 in EUR   -> lambda->order_placed, sqs->order_placed",
            "   order o-2 in USD   -> sqs->order_placed",
            "   stock of sku-7     -> https->stock_changed",
        ]
        assert "     endpoint /order_placed/1" in output.lines
        assert (
            "     request model OrderZPlacedV1Envelope: data{amount*:number, currency*:string, order_id*:string}"
            in output.lines
        )
        # the printed commands work as pasted: the deployment ones name the walk-through's first deployment
        first = next(line for line in output.lines if line.startswith("   HTTPS order_placed.v1: "))
        deployment_id = first.rsplit("deployment ", 1)[1]
        auth = '-H "Authorization: Bearer demo-shop-token"'
        assert f"  curl -s {auth} {portal}/deployments/{deployment_id}/terraform" in output.lines
        request = urllib.request.Request(
            f"{portal}/deployments/{deployment_id}", headers={"Authorization": "Bearer demo-shop-token"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["status"] == "synthesized"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        stop_after_failure(process, children)
    assert output.lines[-1] == "Stopping..."
    assert process.stderr is not None
    assert process.stderr.read() == ""
    assert [group_members(child) for child in children] == [[], [], []]
