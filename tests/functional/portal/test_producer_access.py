"""What a producing team gets from the portal to send events: endpoint or queue, credential, a ready example."""

from __future__ import annotations

from typing import Any

import boto3
from chalice.test import Client
from chalicelib.services.backend import Backend
from jsonschema import Draft202012Validator

from broker_contract.catalog import deployment_key
from tests.functional.portal.conftest import BILLING, SHOP, create_event


def mark_deployed(backend: Backend, deployment_id: str, outputs: dict[str, str]) -> None:
    """What the generator records once Terraform applied the producer stack."""
    table = boto3.resource("dynamodb", region_name=backend.config.region).Table(backend.config.catalog_table_name)
    table.update_item(
        Key=deployment_key(deployment_id),
        UpdateExpression="SET #status = :deployed, outputs = :outputs",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":deployed": "deployed", ":outputs": outputs},
    )


def test_the_owner_gets_the_endpoint_its_api_key_and_a_curl_that_sends(client: Client, backend: Backend) -> None:
    created = create_event(client)
    key = boto3.client("apigateway", region_name=backend.config.region).create_api_key(name="k", enabled=True)
    url = "https://abc.execute-api.eu-west-1.amazonaws.com/dev/order-created/1"
    role = "arn:aws:iam::123456789012:role/dev-eb-publish-order-created-v1"
    outputs = {"endpoint_url": url, "api_key_id": key["id"], "publisher_role_arn": role}
    mark_deployed(backend, created["deployment_id"], outputs)

    response = client.http.get("/events/order-created/versions/1/producer", headers=SHOP)

    assert response.status_code == 200, response.json_body
    answer = response.json_body
    assert (answer["ready"], answer["deployment_status"], answer["endpoint_url"]) == (True, "deployed", url)
    assert answer["api_key"] == {"header": "x-api-key", "value": key["value"]}
    assert answer["publisher_role_arn"] == role
    assert answer["credentials"].startswith(f"assume {role} (aws sts assume-role)")
    # the example is a complete request: signed as the role, the key, and an envelope naming the required fields
    assert answer["example"].startswith(
        f"curl -s -X POST {url} --aws-sigv4 'aws:amz:eu-west-1:execute-api' "
        '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN" '
        "-H 'Content-Type: application/json'"
    )
    assert f"-H 'x-api-key: {key['value']}'" in answer["example"]
    assert '"data":{"order_id":"<order_id>","amount":"<amount>"}' in answer["example"]


def test_another_team_gets_no_credential(client: Client, backend: Backend) -> None:
    create_event(client)

    response = client.http.get("/events/order-created/versions/1/producer", headers=BILLING)

    assert response.status_code == 403
    assert "only the owning team (shop-team)" in response.json_body["error"]["message"]


def test_before_the_producer_is_deployed_the_answer_says_to_wait(client: Client) -> None:
    create_event(client)

    answer = client.http.get("/events/order-created/versions/1/producer", headers=SHOP).json_body

    assert (answer["ready"], answer["deployment_status"]) == (False, "pending")
    assert "endpoint_url" not in answer and "api_key" not in answer


def test_an_sqs_producer_gets_its_queue_and_an_aws_cli_example(client: Client, backend: Backend) -> None:
    created = create_event(client, "stock-changed", connection_type="SQS")
    queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-producer-stock-changed-v1"
    mark_deployed(backend, created["deployment_id"], {"queue_url": queue_url})

    answer = client.http.get("/events/stock-changed/versions/1/producer", headers=SHOP).json_body

    assert answer["queue_url"] == queue_url
    assert answer["example"].startswith(f"aws sqs send-message --queue-url {queue_url} --message-body ")


def test_unknown_version_is_404(client: Client) -> None:
    create_event(client)
    assert client.http.get("/events/order-created/versions/9/producer", headers=SHOP).status_code == 404


def documented(client: Client, answer: Any) -> list[str]:
    """Where ``answer`` departs from the schema /openapi.json declares for the producer route."""
    document = client.http.get("/openapi.json").json_body
    operation = document["paths"]["/events/{event_type}/versions/{version}/producer"]["get"]
    schema = {**operation["responses"]["200"]["content"]["application/json"]["schema"], **document}
    return [error.message for error in Draft202012Validator(schema).iter_errors(answer)]


def test_every_kind_of_answer_is_the_documented_one(client: Client, backend: Backend) -> None:
    created = create_event(client)
    waiting = client.http.get("/events/order-created/versions/1/producer", headers=SHOP).json_body
    url = "https://abc.execute-api.eu-west-1.amazonaws.com/dev/order-created/1"
    role = "arn:aws:iam::123456789012:role/dev-publisher-order-created-v1"
    mark_deployed(backend, created["deployment_id"], {"endpoint_url": url, "publisher_role_arn": role})
    signed = client.http.get("/events/order-created/versions/1/producer", headers=SHOP).json_body
    assert (signed["ready"], signed["publisher_role_arn"], "api_key" in signed) == (True, role, False)
    mark_deployed(backend, created["deployment_id"], {"endpoint_url": url, "api_key_id": "gone"})
    key_gone = client.http.get("/events/order-created/versions/1/producer", headers=SHOP).json_body
    assert (key_gone["ready"], key_gone["message"]) == (False, "the producer's API key is gone: redeploy the version")
    for answer in (waiting, signed, key_gone):
        assert documented(client, answer) == []
    assert documented(client, {**signed, "api_key": "not an object"})  # the check can fail
