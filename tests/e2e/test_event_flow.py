"""Events flow: real producer stacks applied with Terraform to moto_server, run by local mode's gateway and pump.

The core pieces the producer stacks look up (the REST API with its stage and gateway responses, the custom
bus, the API Gateway role, the state bucket) are created with boto3; a rule on the bus copies every producer
event into an observer queue, where the tests find what a consumer would receive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from broker_contract.config import RuntimeConfig
from broker_contract.models import ProducerDeployment
from broker_contract.names import BrokerNames
from generator.aws_actions import AwsPostApplyActions
from generator.runner import TerraformRunner, find_terraform
from generator.terraform_setup import find_provider_mirror, prepare
from local_mode.aws import AwsClients, aws_environment
from local_mode.gateway import LocalGateway
from local_mode.pipes import PipePump
from local_mode.processes import answers_http, free_port, wait_until
from local_mode.signing import publisher_credentials, sign_request
from modules.core.producer_api import BAD_REQUEST_BODY_TEMPLATE, DEFAULT_ERROR_TEMPLATE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("event-flow")]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "broker_contract" / "examples"
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
NAMES = BrokerNames("dev", REGION, ACCOUNT)
DELIVERY_TIMEOUT = 20.0


@dataclass
class Flow:
    """The running pieces the tests talk to."""

    aws: AwsClients
    gateway: LocalGateway
    endpoint: str
    api_key: str
    #: the publisher role's ARN (output ``publisher_role_arn``) and its credentials, assumed in the embedded STS
    publisher_role_arn: str
    credentials: Credentials
    producer_queue_url: str
    observer_queue_url: str
    received: list[dict[str, Any]]

    def post(
        self, body: Any, api_key: str | None = None, path: str | None = None, *, sign: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """POST as a producer does: signed with SigV4 as the publisher role (unless ``sign`` is false)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = path or self.endpoint
        headers = {"Content-Type": "application/json"}
        if api_key is not None:
            headers["x-api-key"] = api_key
        if sign:
            headers = sign_request(url, data, headers, region=REGION, credentials=self.credentials)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], timeout: float = DELIVERY_TIMEOUT) -> dict[str, Any]:
        """The first event delivered to the observer queue for which ``matches`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((event for event in self.received if matches(event)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event within {timeout:.0f} s; received: {self.received}")
            self.drain(wait_seconds=1)

    def drain(self, wait_seconds: int = 0) -> None:
        sqs = self.aws.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.observer_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        for message in messages:
            self.received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=self.observer_queue_url, ReceiptHandle=message["ReceiptHandle"])


def envelope(data: dict[str, Any], source: str = "shop") -> dict[str, Any]:
    return {"metadata": {"event_attributes": {"source": source, "target": "billing"}}, "data": data}


def create_core(aws: AwsClients) -> RuntimeConfig:
    """What the broker stack would have created, as far as producer stacks need it."""
    aws.client("s3").create_bucket(Bucket=NAMES.state_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws.client("iam").create_role(
        RoleName=NAMES.apigateway_events_role,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    aws.client("events").create_event_bus(Name=NAMES.event_bus)
    apigateway = aws.client("apigateway")
    api = apigateway.create_rest_api(name=f"{NAMES.prefix}-producers", endpointConfiguration={"types": ["REGIONAL"]})
    root_id = next(item["id"] for item in apigateway.get_resources(restApiId=api["id"])["items"] if item["path"] == "/")
    health = apigateway.create_resource(restApiId=api["id"], parentId=root_id, pathPart="health")
    apigateway.put_method(restApiId=api["id"], resourceId=health["id"], httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api["id"],
        resourceId=health["id"],
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_method_response(restApiId=api["id"], resourceId=health["id"], httpMethod="GET", statusCode="200")
    apigateway.put_integration_response(
        restApiId=api["id"],
        resourceId=health["id"],
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"status": "ok"}'},
    )
    # the core stack's gateway responses (modules/core/producer_api.py)
    apigateway.put_gateway_response(
        restApiId=api["id"],
        responseType="BAD_REQUEST_BODY",
        statusCode="400",
        responseTemplates={"application/json": BAD_REQUEST_BODY_TEMPLATE},
    )
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        apigateway.put_gateway_response(
            restApiId=api["id"],
            responseType=response_type,
            responseTemplates={"application/json": DEFAULT_ERROR_TEMPLATE},
        )
    apigateway.create_deployment(restApiId=api["id"], stageName=NAMES.producer_api_stage)
    return RuntimeConfig.derived(NAMES, producer_api_id=api["id"], root_resource_id=root_id)


def observe_bus(aws: AwsClients, detail_types: list[str]) -> str:
    """An SQS queue receiving every event of ``detail_types`` put on the custom bus; its URL."""
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName="event-flow-observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    events.put_rule(
        Name="event-flow-observer", EventBusName=NAMES.event_bus, EventPattern=json.dumps({"detail-type": detail_types})
    )
    events.put_targets(
        Rule="event-flow-observer", EventBusName=NAMES.event_bus, Targets=[{"Id": "observer", "Arn": arn}]
    )
    return url


def synthesize(example: str, runtime: RuntimeConfig, moto_url: str, outdir: Path) -> subprocess.Popen[str]:
    """``python -m generator synth`` of a deployment example, with the run-time configuration of this moto."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "synth",
            str(EXAMPLES / example),
            "--out",
            str(outdir),
            "--endpoint-url",
            moto_url,
        ],
        cwd=REPO,
        env={**os.environ, **runtime.to_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    if find_terraform() is None:
        pytest.skip("terraform is not on the PATH: producer stacks cannot be applied")
    if find_provider_mirror() is None:
        pytest.skip("no offline copy of the AWS provider (filesystem mirror): terraform init would need the network")
    workdir = tmp_path_factory.mktemp("event-flow")
    port = free_port()
    moto_url = f"http://127.0.0.1:{port}"
    with (workdir / "moto.log").open("wb") as moto_log:
        moto = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
            stdout=moto_log,
            stderr=subprocess.STDOUT,
        )
    gateway = LocalGateway(moto_url, REGION, "127.0.0.1", free_port())
    pump = PipePump(moto_url, REGION)
    try:
        wait_until(answers_http(f"{moto_url}/moto-api/"), 30, "moto_server")
        aws = AwsClients(moto_url, REGION)
        runtime = create_core(aws)
        https = ProducerDeployment.model_validate_json((EXAMPLES / "producer-https.json").read_text())
        sqs = ProducerDeployment.model_validate_json((EXAMPLES / "producer-sqs.json").read_text())
        detail_types = [f"{d.event.event_type}.{d.event.version}" for d in (https, sqs)]
        observer_url = observe_bus(aws, detail_types)

        synths = {
            name: synthesize(f"{name}.json", runtime, moto_url, workdir / name)
            for name in ("producer-https", "producer-sqs")
        }
        stacks: dict[str, Path] = {}
        for name, process in synths.items():
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, f"synth of {name} failed:\n{stderr}"
            stacks[name] = Path(stdout.strip().splitlines()[-1]).parent

        actions = AwsPostApplyActions(aws.client)
        # what the generator does around apply (generator/aws_actions.py): the shared parent resource first
        actions.ensure_api_resource(
            runtime.producer_api_id, runtime.producer_api_root_resource_id, f"/{https.event.event_type}"
        )
        runner = TerraformRunner(
            setup=prepare(), environ={**os.environ, **aws_environment(moto_url, REGION)}, timeout_seconds=300
        )

        def apply(directory: Path) -> dict[str, Any]:
            runner.init(directory)
            runner.apply(directory)
            return runner.output(directory)

        with ThreadPoolExecutor(max_workers=2) as pool:
            outputs = dict(zip(stacks, pool.map(apply, stacks.values()), strict=True))
        # ... and a deployment of the shared stage after
        actions.redeploy_stage(runtime.producer_api_id, runtime.producer_api_stage_name, "event-flow test")

        apigateway = aws.client("apigateway")
        api_key = apigateway.get_api_key(apiKey=outputs["producer-https"]["api_key_id"], includeValue=True)["value"]
        publisher_role_arn = outputs["producer-https"]["publisher_role_arn"]
        gateway.start()
        pump.start()
        yield Flow(
            aws=aws,
            gateway=gateway,
            endpoint=f"{gateway.url}/{runtime.producer_api_stage_name}{outputs['producer-https']['endpoint_path']}",
            api_key=api_key,
            publisher_role_arn=publisher_role_arn,
            credentials=publisher_credentials(aws.client("sts"), publisher_role_arn),
            producer_queue_url=outputs["producer-sqs"]["queue_url"],
            observer_queue_url=observer_url,
            received=[],
        )
    finally:
        pump.stop()
        gateway.stop()
        moto.terminate()
        moto.wait(timeout=10)


# -- HTTPS producer: the applied REST API method, run by the local gateway -------------------------------------


def test_a_valid_event_reaches_the_bus_with_its_envelope_intact(flow: Flow) -> None:
    body = envelope({"order_id": f"o-{uuid.uuid4()}", "amount": 12.5, "currency": "EUR", "note": 'it\'s "quoted" é'})
    status, answer = flow.post(body, api_key=flow.api_key)
    assert status == 200, answer
    event = flow.wait_for(lambda event: event["detail"] == body)
    assert event["id"] == answer["event_id"]
    assert event["detail-type"] == "order-created.1"
    assert event["source"] == "shop"


def test_an_invalid_event_gets_the_gateway_s_400_and_nothing_is_delivered(flow: Flow) -> None:
    order_id = f"o-{uuid.uuid4()}"
    invalid = envelope({"order_id": order_id, "amount": "twelve"})
    status, answer = flow.post(invalid, api_key=flow.api_key)
    assert status == 400
    assert answer["message"] == "Invalid request body"
    assert "twelve" in answer["errors"] and "number" in answer["errors"]
    assert answer["requestId"]
    # a valid event sent after it arrives alone: the invalid one never reached the bus
    marker = envelope({"order_id": f"marker-{order_id}", "amount": 1})
    assert flow.post(marker, api_key=flow.api_key)[0] == 200
    flow.wait_for(lambda event: event["detail"] == marker)
    assert not [event for event in flow.received if event["detail"]["data"].get("order_id") == order_id]


def test_a_body_that_is_not_json_gets_400(flow: Flow) -> None:
    status, answer = flow.post(b"{not json", api_key=flow.api_key)
    assert status == 400
    assert answer["message"] == "Invalid request body"


@pytest.mark.parametrize("api_key", ["not-the-key", None])
def test_a_wrong_or_missing_api_key_gets_403(flow: Flow, api_key: str | None) -> None:
    status, answer = flow.post(envelope({"order_id": "o-1", "amount": 1}), api_key=api_key)
    assert status == 403
    assert answer["message"] == "Forbidden"


def test_an_unsigned_request_gets_missing_authentication_token_and_nothing_is_delivered(flow: Flow) -> None:
    order_id = f"unsigned-{uuid.uuid4()}"
    # the API key alone is not a credential: the method requires AWS_IAM (docs/security.md)
    status, answer = flow.post(envelope({"order_id": order_id, "amount": 1}), api_key=flow.api_key, sign=False)
    assert status == 403
    assert answer["message"] == "Missing Authentication Token"
    # an invalid body unsigned is refused by authorization, before validation, as by API Gateway
    assert flow.post(envelope({"order_id": order_id}), api_key=flow.api_key, sign=False)[0] == 403
    marker = envelope({"order_id": f"marker-{order_id}", "amount": 1})
    assert flow.post(marker, api_key=flow.api_key)[0] == 200
    flow.wait_for(lambda event: event["detail"] == marker)
    assert not [event for event in flow.received if event["detail"]["data"].get("order_id") == order_id]


def test_the_publisher_role_may_invoke_exactly_the_method_the_producer_calls(flow: Flow) -> None:
    role_name = flow.publisher_role_arn.rsplit("/", 1)[-1]
    iam = flow.aws.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    (statement,) = document["Statement"]
    api_id = flow.aws.client("apigateway").get_rest_apis()["items"][0]["id"]
    stage_and_path = flow.endpoint.split("/", 3)[3]  # <stage>/<event_type>/<version>
    stage, _, path = stage_and_path.partition("/")
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{stage}/POST/{path}"


def test_an_unknown_path_gets_missing_authentication_token(flow: Flow) -> None:
    status, answer = flow.post(
        envelope({"order_id": "o-1", "amount": 1}), api_key=flow.api_key, path=f"{flow.endpoint}/nothing-here"
    )
    assert status == 403
    assert answer["message"] == "Missing Authentication Token"


def test_the_health_method_answers_through_its_mock_integration(flow: Flow) -> None:
    stage_url = flow.endpoint.rsplit("/", 2)[0]
    with urllib.request.urlopen(f"{stage_url}/health", timeout=10) as response:
        assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})


# -- SQS producer: the applied pipe, run by the pump --------------------------------------------------------


def test_a_message_on_the_producer_queue_reaches_the_bus_through_the_pipe(flow: Flow) -> None:
    body = envelope({"payment_id": f"p-{uuid.uuid4()}", "status": "settled"}, source="payments")
    flow.aws.client("sqs").send_message(QueueUrl=flow.producer_queue_url, MessageBody=json.dumps(body))
    event = flow.wait_for(lambda event: event["detail"] == body)
    assert event["detail-type"] == "payment-settled.2"
    assert event["source"] == "payments"
    # delivered messages are deleted from the producer queue
    attributes = flow.aws.client("sqs").get_queue_attributes(
        QueueUrl=flow.producer_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
