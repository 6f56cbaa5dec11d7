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
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_mode.aws import AwsClients
from local_mode.broker import LocalBroker
from local_mode.client import PortalClient, Response
from local_mode.processes import group_members
from local_mode.signing import publisher_credentials, sign_request
from local_mode.synth import REPO
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN, is_settled
from tests.e2e.conftest import CoreSeed, terraform_for_tests

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

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
STOCK: dict[str, Any] = {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}


class Producer:
    """An HTTPS producer as documented: its publisher role's SigV4 signature and its API key on every event."""

    def __init__(self, aws: AwsClients, access: dict[str, Any]) -> None:
        self.url = str(access["endpoint_url"])
        self.region = aws.region
        self.credentials = publisher_credentials(aws.client("sts"), access["publisher_role_arn"])
        self.headers = {"Content-Type": "application/json", access["api_key"]["header"]: access["api_key"]["value"]}

    def send(self, event: Any) -> tuple[int, Any]:
        body = json.dumps(event).encode()
        headers = sign_request(self.url, body, self.headers, region=self.region, credentials=self.credentials)
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, core_seed: CoreSeed) -> Iterator[LocalBroker]:
    # the session's applied core, restored; the worker applies every component with real Terraform
    local = LocalBroker(core_seed.settings(tmp_path_factory.mktemp("local"), terraform_for_tests()))
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def shop(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, SHOP_TOKEN)


@pytest.fixture(scope="module")
def billing(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, BILLING_TOKEN)


def settled(portal: PortalClient, deployment_id: str, timeout: float = 240.0) -> dict[str, Any]:
    """The deployment record once its status is final (Terraform applies take tens of seconds against moto)."""
    deadline = time.monotonic() + timeout
    while True:
        response = portal.request("GET", f"/deployments/{deployment_id}")
        assert response.status == 200, response
        if is_settled(response.body) or time.monotonic() > deadline:
            return dict(response.body)
        time.sleep(0.5)


def received(sqs: Any, queue_url: str, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Events (the EventBridge records) in ``queue_url``, once ``expected`` arrived or ``timeout`` passed."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def envelope(source: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"event_attributes": {"source": source, "target": "billing"}}, "data": data}


def test_events_flow_from_both_producer_kinds_to_a_deployed_consumer_and_stop_after_unsubscribe(
    broker: LocalBroker, shop: PortalClient, billing: PortalClient
) -> None:
    assert broker.runtime is not None
    runtime = broker.runtime
    aws = AwsClients(broker.moto_url, broker.settings.region)
    sqs = aws.client("sqs")
    # what the consumer team owns: its queue, tagged so the broker may manage its policy
    queue_url = sqs.create_queue(QueueName="e2e-billing-orders", tags={"event-broker": "local"})["QueueUrl"]
    order = shop.call(
        "POST",
        "/events",
        {"application": "webshop", "event_type": "e2e_order", "connection_type": "HTTPS", "data": ORDER_V1},
    )
    stock = shop.call(
        "POST",
        "/events",
        {"application": "warehouse", "event_type": "e2e_stock", "connection_type": "SQS", "data": STOCK},
    )
    subscriptions = [
        billing.call(
            "POST",
            "/subscriptions",
            {"event_type": event_type, "version": 1, "target_unit": "billing", "connection_type": "SQS",
             "connection_string": QUEUE_ARN},
        )
        for event_type in ("e2e_order", "e2e_stock")
    ]  # fmt: skip
    producers = [settled(shop, order["deployment_id"]), settled(shop, stock["deployment_id"])]
    consumers = [settled(billing, subscription["deployment_id"]) for subscription in subscriptions]
    assert [record["status"] for record in producers + consumers] == ["deployed"] * 4, producers + consumers

    https = shop.call("GET", "/events/e2e_order/versions/1/producer")
    queue = shop.call("GET", "/events/e2e_stock/versions/1/producer")
    assert https["ready"] and queue["ready"], (https, queue)
    producer = Producer(aws, https)
    order_event = envelope("webshop", {"order_id": "o-1"})
    status, answer = producer.send(order_event)
    assert status == 200, answer
    sqs.send_message(QueueUrl=queue["queue_url"], MessageBody=json.dumps(envelope("warehouse", {"sku": "sku-7"})))
    events = sorted(received(sqs, queue_url, 2), key=lambda event: str(event["detail-type"]))
    assert [(event["detail-type"], event["source"]) for event in events] == [
        ("e2e_order.1", "webshop"),
        ("e2e_stock.1", "warehouse"),
    ]
    # the envelope arrives intact, as the producer sent it
    assert events[0]["detail"] == order_event
    assert events[1]["detail"]["data"] == {"sku": "sku-7"}

    # an invalid event: the gateway's 400, and nothing delivered
    status, answer = producer.send(envelope("webshop", {"order_id": 7}))
    assert status == 400, answer
    assert received(sqs, queue_url, 1, timeout=5.0) == []

    # unsubscribing destroys the rule, its target and its DLQ; the component's state is left empty
    subscription_id = subscriptions[0]["subscription_id"]
    removed = billing.call("DELETE", f"/subscriptions/{subscription_id}")
    teardown = settled(billing, removed["deployment_id"])
    assert teardown["status"] == "destroyed", teardown
    rules = aws.client("events").list_rules(EventBusName=runtime.event_bus_name)["Rules"]
    assert [rule["Name"] for rule in rules if subscription_id in rule["Name"]] == []
    assert [url for url in sqs.list_queues().get("QueueUrls", []) if subscription_id in url] == []
    state = aws.client("s3").get_object(
        Bucket=runtime.state_bucket_name, Key=f"local/consumers/{subscription_id}/terraform.tfstate"
    )
    assert json.loads(state["Body"].read())["resources"] == []
    status, answer = producer.send(order_event)
    assert status == 200, answer
    assert received(sqs, queue_url, 1, timeout=5.0) == []


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
    broker: LocalBroker, core_seed: CoreSeed, tmp_path: Path
) -> None:
    broker.stop()  # one local broker at a time on a 2-core machine
    settings = core_seed.settings(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BROKER_", "AWS_"))}
    env.update(
        {
            "BROKER_LOCAL_WORKDIR": str(tmp_path),
            "BROKER_LOCAL_GATEWAY_PORT": str(settings.gateway_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    portal_port = settings.portal_port
    command = [
        sys.executable, "-m", "local_mode", "--moto-port", str(settings.moto_port), "--portal-port", str(portal_port),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    children: list[int] = []
    try:
        output = Output(process)
        # the last line printed before serving
        output.wait_for(f"  curl -s http://127.0.0.1:{portal_port}/openapi.json", timeout=600)
        children = children_of(process.pid)
        assert len(children) == 3  # moto_server, chalice local, generator worker
        assert "Problems seen:" not in output.lines, "\n".join(output.lines)
        assert "  - core stacks restored from the snapshot of their last terraform apply (same stacks, same moto)" in (
            output.lines
        )
        # every stack deployed with Terraform, then real events reached the consumer queues
        assert any(line.startswith("  6/6 settled: 6 deployed") for line in output.lines), "\n".join(output.lines)
        start = next(index for index, line in enumerate(output.lines) if line.startswith("6. what the consumer queues"))
        assert sorted(output.lines[start + 1 : start + 3]) == ["   billing-orders: o-1, o-2", "   billing-stock: sku-7"]
        invalid = next(line for line in output.lines if line.startswith("   invalid order o-3"))
        assert "-> 400 " in invalid
        # the printed commands work as pasted: the deployment ones name the walk-through's first deployment
        first = next(line for line in output.lines if line.startswith("   HTTPS order_placed.v1: "))
        deployment_id = first.rsplit("deployment ", 1)[1]
        portal = f"http://127.0.0.1:{portal_port}"
        auth = '-H "Authorization: Bearer demo-shop-token"'
        assert f"  curl -s {auth} {portal}/deployments/{deployment_id}/terraform" in output.lines
        request = urllib.request.Request(
            f"{portal}/deployments/{deployment_id}", headers={"Authorization": "Bearer demo-shop-token"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["status"] == "deployed"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        stop_after_failure(process, children)
    assert output.lines[-1] == "Stopping..."
    assert process.stderr is not None
    assert process.stderr.read() == ""
    assert [group_members(child) for child in children] == [[], [], []]
