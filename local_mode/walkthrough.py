"""The demo scenario, driven over HTTP against the running portal, printing each step and its result.

billing-team first creates what a consumer team owns in the embedded AWS (its queues, its Lambda function,
the secret of its webhook); shop-team registers an HTTPS event and an SQS event; billing-team subscribes;
the walk-through waits until the generator has deployed every stack with Terraform, then sends real events
through both producer kinds (the HTTPS endpoint with its API key, the SQS producer queue) and shows which
consumer queues received them, and that an invalid event gets the gateway's 400 and reaches nobody.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker_contract.models import DeploymentStatus
from local_mode.aws import AwsClients
from local_mode.client import PortalClient
from local_mode.signing import publisher_credentials, sign_request
from local_mode.summary import describe, terraform_document

SHOP_TOKEN = "demo-shop-token"  # noqa: S105  (demo token shipped in demo_teams.json)
BILLING_TOKEN = "demo-billing-token"  # noqa: S105
ACCOUNT = "123456789012"

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
    },
    "required": ["order_id", "amount", "currency"],
    "additionalProperties": False,
}
STOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
    "required": ["sku", "quantity"],
}

EVENTS: list[dict[str, Any]] = [
    {
        "application": "webshop",
        "event_type": "order_placed",
        "connection_type": "HTTPS",
        "description": "An order was placed in the web shop",
        "data": ORDER_SCHEMA,
    },
    {
        "application": "warehouse",
        "event_type": "stock_changed",
        "connection_type": "SQS",
        "description": "The stock of an article changed",
        "data": STOCK_SCHEMA,
    },
]


#: what billing-team owns in the embedded AWS before it subscribes (tagged so the broker may use it)
ORDERS_QUEUE = "billing-orders"
STOCK_QUEUE = "billing-stock"
INVOICER = "billing-invoicer"
WEBHOOK_SECRET = "billing/stock-hook-key"  # noqa: S105  (a secret name, not a value)


def subscriptions(region: str, secret_arn: str) -> list[dict[str, Any]]:
    """billing-team's subscriptions: a Lambda (EUR orders only), two queues, an HTTPS endpoint with an API key."""
    return [
        {
            "event_type": "order_placed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "LAMBDA",
            "connection_string": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{INVOICER}",
            "content_filter": {"currency": ["EUR"]},
        },
        {
            "event_type": "order_placed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": f"arn:aws:sqs:{region}:{ACCOUNT}:{ORDERS_QUEUE}",
        },
        {
            "event_type": "stock_changed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": f"arn:aws:sqs:{region}:{ACCOUNT}:{STOCK_QUEUE}",
        },
        {
            "event_type": "stock_changed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "HTTPS",
            "connection_string": "https://billing.example.com/hooks/stock",
            "auth": {"type": "API_KEY", "secret_arn": secret_arn},
        },
    ]


def envelope(source: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event as a producer sends it."""
    return {"metadata": {"event_attributes": {"source": source, "target": "billing"}}, "data": data}


ORDERS: list[tuple[str, dict[str, Any]]] = [
    ("order o-1 in EUR", envelope("webshop", {"order_id": "o-1", "amount": 42.5, "currency": "EUR"})),
    ("order o-2 in USD", envelope("webshop", {"order_id": "o-2", "amount": 10, "currency": "USD"})),
]
INVALID_ORDER = envelope("webshop", {"order_id": "o-3", "amount": -1})
STOCK = envelope("warehouse", {"sku": "sku-7", "quantity": 3})


def create_team_targets(aws: AwsClients, environment: str, say: Say) -> str:
    """What billing-team owns before subscribing: queues, a function, a secret (tagged); the secret's ARN."""
    tags = {"event-broker": environment}
    sqs = aws.client("sqs")
    for queue in (ORDERS_QUEUE, STOCK_QUEUE):
        sqs.create_queue(QueueName=queue, tags=tags)
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=f"{INVOICER}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    aws.client("lambda").create_function(
        FunctionName=INVOICER,
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _handler_zip()},
        Tags=tags,
    )
    secret = aws.client("secretsmanager").create_secret(
        Name=WEBHOOK_SECRET, SecretString="demo-webhook-api-key", Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )
    say(f"   queues {ORDERS_QUEUE}, {STOCK_QUEUE}; function {INVOICER}; secret {WEBHOOK_SECRET} (tagged event-broker)")
    return str(secret["ARN"])


def _handler_zip() -> bytes:
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'invoiced': event['detail']['data']}\n")
    return buffer.getvalue()


def is_settled(record: dict[str, Any]) -> bool:
    """Final, or ``synthesized`` by a generator that runs no Terraform (it says so in the status change)."""
    status = record.get("status")
    if status in set(DeploymentStatus) and DeploymentStatus(status).is_final:
        return True
    history = record.get("history") or [{}]
    return status == "synthesized" and "stopped after synthesis" in str(history[-1].get("detail", ""))


@dataclass
class Outcome:
    """What the walk-through saw; the exit code of ``--once`` depends on ``failures``."""

    deployments: dict[str, str] = field(default_factory=dict)
    #: label -> deployment id, in the order the walk-through asked for them (the events first)
    deployment_ids: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: queue name -> the events (``detail.data``) it received
    delivered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


Say = Callable[[str], None]


def wait_for(
    portals: dict[str, PortalClient],
    deployment_ids: dict[str, str],
    say: Say,
    timeout: float = 120.0,
    *,
    interval: float = 0.5,
    heartbeat: float = 5.0,
) -> dict[str, dict[str, Any]]:
    """Poll ``GET /deployments/{id}`` (as the team that asked, ``portals[label]``) until all settle.

    Prints a progress line whenever a status changes, and every ``heartbeat`` seconds while none does.
    """
    started = time.monotonic()
    records: dict[str, dict[str, Any]] = {}
    last = ""
    last_said = started
    while True:
        for label, deployment_id in deployment_ids.items():
            if is_settled(records.get(label, {})):
                continue
            response = portals[label].request("GET", f"/deployments/{deployment_id}")
            if response.ok and isinstance(response.body, dict):
                records[label] = response.body
        statuses = [records.get(label, {}).get("status", "pending") for label in deployment_ids]
        settled = sum(is_settled(records.get(label, {})) for label in deployment_ids)
        counts = Counter(statuses)
        line = f"  {settled}/{len(deployment_ids)} settled: " + ", ".join(
            f"{count} {status}" for status, count in counts.items()
        )
        now = time.monotonic()
        if line != last or now - last_said >= heartbeat:
            say(f"{line}  ({now - started:.0f} s)")
            last, last_said = line, now
        if settled == len(deployment_ids):
            return records
        if time.monotonic() - started > timeout:
            say(f"  gave up waiting after {timeout:.0f} s")
            return records
        time.sleep(interval)


def run(portal_url: str, aws: AwsClients, environment: str, say: Say = print, timeout: float = 420.0) -> Outcome:
    """The whole scenario; returns what it saw (failures listed, never raised for a failed deployment)."""
    outcome = Outcome()
    shop = PortalClient(portal_url, SHOP_TOKEN)
    billing = PortalClient(portal_url, BILLING_TOKEN)
    deployment_ids = outcome.deployment_ids
    owners: dict[str, PortalClient] = {}

    say("1. billing-team creates what it owns in the embedded AWS")
    secret_arn = create_team_targets(aws, environment, say)

    say("2. shop-team registers two events")
    for event in EVENTS:
        body = shop.call("POST", "/events", event)
        label = f"{event['event_type']}.v{body['version']}"
        deployment_ids[label] = body["deployment_id"]
        owners[label] = shop
        say(f"   {event['connection_type']:5} {label}: deployment {body['deployment_id']}")

    say("3. billing-team subscribes a Lambda, two queues and an HTTPS endpoint")
    for request in subscriptions(aws.region, secret_arn):
        body = billing.call("POST", "/subscriptions", request)
        target = request["connection_string"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        label = f"{request['connection_type'].lower()} {target}<-{request['event_type']}"
        deployment_ids[label] = body["deployment_id"]
        owners[label] = billing
        extra = f" filter {json.dumps(request['content_filter'])}" if request.get("content_filter") else ""
        say(f"   {body['subscription_id']} {request['connection_type']:6} {request['connection_string']}{extra}")

    say("4. the generator deploys every stack with Terraform (state in the embedded S3)")
    records = wait_for(owners, deployment_ids, say, timeout)
    for label, record in records.items():
        outcome.deployments[label] = str(record.get("status"))
        if record.get("status") != "deployed":
            outcome.failures.append(f"{label}: {record.get('status')} {record.get('error') or ''}".strip())
    for label, deployment_id in list(deployment_ids.items())[:2]:
        response = owners[label].request("GET", f"/deployments/{deployment_id}/terraform")
        if response.ok:
            say(f"   {label}: " + "; ".join(describe(terraform_document(response.body))[:3]))
    if outcome.failures:
        return outcome

    say("5. producers send real events (what each producer gets: GET /events/{type}/versions/1/producer)")
    https = shop.call("GET", "/events/order_placed/versions/1/producer")
    queue = shop.call("GET", "/events/stock_changed/versions/1/producer")
    say(
        f"   HTTPS: POST {https['endpoint_url']}, as role {https['publisher_role_arn']} (SigV4, execute-api), "
        f"with header {https['api_key']['header']}"
    )
    say(f"   SQS:   send to {queue['queue_url']}")
    credentials = publisher_credentials(aws.client("sts"), https["publisher_role_arn"])
    base = {"Content-Type": "application/json", https["api_key"]["header"]: https["api_key"]["value"]}

    def send(event: dict[str, Any]) -> tuple[int, str]:
        body = json.dumps(event).encode()
        headers = sign_request(https["endpoint_url"], body, base, region=aws.region, credentials=credentials)
        return post_json(https["endpoint_url"], body, headers)

    for description, event in ORDERS:
        status, answer = send(event)
        say(f"   {description:18} -> {status} {answer}")
        if status != 200:
            outcome.failures.append(f"{description}: the endpoint answered {status} {answer}")
    status, answer = send(INVALID_ORDER)
    say(f"   {'invalid order o-3':18} -> {status} {answer}")
    if status != 400:
        outcome.failures.append(f"an invalid order was answered {status}, not 400")
    aws.client("sqs").send_message(QueueUrl=queue["queue_url"], MessageBody=json.dumps(STOCK))
    say(f"   {'stock of sku-7':18} -> sent to the producer queue")

    say(
        "6. what the consumer queues received (EventBridge rules on the bus; moto records the Lambda target, runs none)"
    )
    expected = {ORDERS_QUEUE: ["o-1", "o-2"], STOCK_QUEUE: ["sku-7"]}
    for queue_name, wanted in expected.items():
        received = receive(aws, queue_name, len(wanted))
        outcome.delivered[queue_name] = received
        keys = [str(item.get("order_id") or item.get("sku")) for item in received]
        say(f"   {queue_name}: {', '.join(keys) if keys else 'nothing'}")
        if sorted(keys) != sorted(wanted):
            outcome.failures.append(f"{queue_name} received {keys}, expected {wanted}")
    return outcome


def post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``body`` (the exact bytes that were signed) as a producer would; the status and the answer's text."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(  # noqa: S310  (the producers' gateway on loopback)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), " ".join(response.read().decode().split())
    except urllib.error.HTTPError as error:
        return int(error.code), " ".join(error.read().decode().split())


def receive(aws: AwsClients, queue_name: str, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The ``data`` of the events ``queue_name`` receives within ``timeout`` (stops once ``expected`` arrived)."""
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            found.append(json.loads(message["Body"])["detail"]["data"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found
