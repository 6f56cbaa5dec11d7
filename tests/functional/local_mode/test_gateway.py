"""Local mode's gateway over a REST API configured in moto like the HTTPS producer stack configures it.

The method, model, validator, integration and its responses carry the producer module's own templates; the
gateway reads them back from moto, so these tests cover the whole data path without Terraform (the e2e tests
do the same over stacks applied with Terraform).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local_mode.gateway import LocalGateway, Request, RestApiExecutor, match_path, select_integration_response
from local_mode.signing import publisher_credentials, sign_request
from modules.core.producer_api import BAD_REQUEST_BODY_TEMPLATE, DEFAULT_ERROR_TEMPLATE
from modules.producers.https import (
    CLIENT_ERROR_PATTERN,
    CLIENT_ERROR_TEMPLATE,
    PUT_EVENTS_REQUEST_PARAMETERS,
    SERVER_ERROR_PATTERN,
    SERVER_ERROR_TEMPLATE,
    SUCCESS_RESPONSE_TEMPLATE,
    put_events_request_template,
)
from tests.functional.local_mode.conftest import BUS, REGION, Aws

SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["metadata", "data"],
    "properties": {
        "metadata": {"type": "object"},
        "data": {
            "type": "object",
            "required": ["order_id", "amount"],
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        },
    },
}
ORDER = {
    "metadata": {"event_attributes": {"source": "shop", "target": "billing"}},
    "data": {"order_id": "o-1", "amount": 2},
}


@dataclass
class Api:
    id: str
    key: str


def producer_api(aws: Aws, *, bus: str = BUS, gateway_responses: bool = True) -> Api:
    """``POST /orders/1`` (API key) and ``POST /orders/iam`` (AWS_IAM), as the HTTPS producer stack makes them."""
    apigateway = aws.apigateway
    api_id = apigateway.create_rest_api(name="producers")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    parent = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    apigateway.create_model(
        restApiId=api_id, name="OrdersV1", contentType="application/json", schema=json.dumps(SCHEMA)
    )
    validator = apigateway.create_request_validator(restApiId=api_id, name="body", validateRequestBody=True)["id"]
    for path_part, auth in (("1", "NONE"), ("iam", "AWS_IAM")):
        resource = apigateway.create_resource(restApiId=api_id, parentId=parent, pathPart=path_part)["id"]
        common = {"restApiId": api_id, "resourceId": resource, "httpMethod": "POST"}
        apigateway.put_method(
            **common,
            authorizationType=auth,
            apiKeyRequired=auth == "NONE",
            requestModels={"application/json": "OrdersV1"},
            requestValidatorId=validator,
        )
        apigateway.put_integration(
            **common,
            type="AWS",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:events:action/PutEvents",
            requestParameters=PUT_EVENTS_REQUEST_PARAMETERS,
            passthroughBehavior="NEVER",
            requestTemplates={"application/json": put_events_request_template(bus, "shop", "orders.1")},
        )
        responses = {
            "200": (None, SUCCESS_RESPONSE_TEMPLATE),
            "400": (CLIENT_ERROR_PATTERN, CLIENT_ERROR_TEMPLATE),
            "500": (SERVER_ERROR_PATTERN, SERVER_ERROR_TEMPLATE),
        }
        for status, (pattern, template) in responses.items():
            apigateway.put_method_response(**common, statusCode=status)
            selection = {"selectionPattern": pattern} if pattern else {}
            apigateway.put_integration_response(
                **common, statusCode=status, responseTemplates={"application/json": template}, **selection
            )
    if gateway_responses:
        apigateway.put_gateway_response(
            restApiId=api_id,
            responseType="BAD_REQUEST_BODY",
            statusCode="400",
            responseTemplates={"application/json": BAD_REQUEST_BODY_TEMPLATE},
        )
        apigateway.put_gateway_response(
            restApiId=api_id, responseType="DEFAULT_4XX", responseTemplates={"application/json": DEFAULT_ERROR_TEMPLATE}
        )
    apigateway.create_deployment(restApiId=api_id, stageName="dev")
    key = apigateway.create_api_key(name="orders", enabled=True)
    plan = apigateway.create_usage_plan(name="orders", apiStages=[{"apiId": api_id, "stage": "dev"}])
    apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return Api(api_id, key["value"])


def post(
    aws: Aws, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    executor = RestApiExecutor(aws.apigateway, aws.events, REGION)
    text = body if isinstance(body, str) else json.dumps(body)
    reply = executor.handle(
        Request("POST", path, {"Content-Type": "application/json", **(headers or {})}, text, request_id="req-1")
    )
    return reply.status, json.loads(reply.body), reply.headers


def test_a_valid_event_is_put_on_the_bus_and_answered_with_its_id(aws: Aws) -> None:
    api = producer_api(aws)
    status, answer, headers = post(aws, "/dev/orders/1", ORDER, {"x-api-key": api.key})
    assert status == 200
    (event,) = aws.delivered()
    assert answer == {"event_id": event["id"]}
    assert (event["detail"], event["detail-type"], event["source"]) == (ORDER, "orders.1", "shop")
    assert headers["x-amzn-RequestId"] == "req-1"


def test_an_invalid_body_gets_the_api_s_bad_request_body_response(aws: Aws) -> None:
    api = producer_api(aws)
    status, answer, headers = post(aws, "/dev/orders/1", {"metadata": {}}, {"x-api-key": api.key})
    assert status == 400
    assert answer["message"] == "Invalid request body"
    assert "'data' is a required property" in answer["errors"]
    assert answer["requestId"] == "req-1"
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert aws.delivered() == []


def test_without_gateway_responses_api_gateway_s_defaults_answer(aws: Aws) -> None:
    api = producer_api(aws, gateway_responses=False)
    assert post(aws, "/dev/orders/1", {"data": {}}, {"x-api-key": api.key})[:2] == (
        400,
        {"message": "Invalid request body"},
    )
    assert post(aws, "/dev/orders/1", ORDER)[:2] == (403, {"message": "Forbidden"})
    assert post(aws, "/dev/orders/2", ORDER)[:2] == (403, {"message": "Missing Authentication Token"})


@pytest.mark.parametrize(
    "path", ["/dev/orders/2", "/dev/orders", "/prod/orders/1", "/dev/orders/1/extra", "/dev"], ids=str
)
def test_unknown_paths_and_stages_get_missing_authentication_token(aws: Aws, path: str) -> None:
    api = producer_api(aws)
    status, answer, _ = post(aws, path, ORDER, {"x-api-key": api.key})
    assert (status, answer["message"]) == (403, "Missing Authentication Token")


def test_an_api_key_must_be_enabled_and_in_a_plan_of_this_stage(aws: Aws) -> None:
    api = producer_api(aws)
    stray = aws.apigateway.create_api_key(name="stray", enabled=True)["value"]
    assert post(aws, "/dev/orders/1", ORDER, {"x-api-key": stray})[:2] == (
        403,
        {"message": "Forbidden", "requestId": "req-1"},
    )
    key_id = aws.apigateway.get_api_keys(nameQuery="orders")["items"][0]["id"]
    aws.apigateway.update_api_key(
        apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    assert post(aws, "/dev/orders/1", ORDER, {"x-api-key": api.key})[0] == 403
    assert aws.delivered() == []


def signed(body: Any, headers: dict[str, str] | None = None, *, region: str = REGION) -> dict[str, str]:
    """What a producer sends: the publisher role assumed in moto, the request signed by botocore."""
    credentials = publisher_credentials(
        boto3.client("sts", region_name=REGION), "arn:aws:iam::123456789012:role/dev-eb-publish-orders-v1"
    )
    text = body if isinstance(body, str) else json.dumps(body)
    return sign_request(
        "http://gateway.local/dev/orders/iam",
        text,
        {"Content-Type": "application/json", **(headers or {})},
        region=region,
        credentials=credentials,
    )


def test_iam_methods_accept_a_producer_s_sigv4_signature(aws: Aws) -> None:
    producer_api(aws)
    headers = signed(ORDER)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"]

    assert post(aws, "/dev/orders/iam", ORDER, headers)[0] == 200
    assert len(aws.delivered()) == 1
    # authorization comes before validation, as in API Gateway: an unsigned invalid body is a 403, not a 400
    status, answer, _ = post(aws, "/dev/orders/iam", {"metadata": {}})
    assert (status, answer["message"]) == (403, "Missing Authentication Token")
    status, answer, _ = post(aws, "/dev/orders/iam", {"metadata": {}}, signed({"metadata": {}}))
    assert (status, answer["message"]) == (400, "Invalid request body")


def test_iam_methods_refuse_a_missing_incomplete_or_misscoped_signature(aws: Aws) -> None:
    producer_api(aws)
    status, answer, headers = post(aws, "/dev/orders/iam", ORDER)
    assert (status, answer["message"], headers["x-amzn-ErrorType"]) == (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    )
    status, answer, _ = post(aws, "/dev/orders/iam", ORDER, {"Authorization": "AWS4-HMAC-SHA256 Signature=abc"})
    assert status == 403
    assert "'Credential'" in answer["message"] and "'SignedHeaders'" in answer["message"]
    undated = {name: value for name, value in signed(ORDER).items() if name != "X-Amz-Date"}
    status, answer, _ = post(aws, "/dev/orders/iam", ORDER, undated)
    assert (status, answer["message"]) == (
        403,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header",
    )
    other_region = signed(ORDER, region="us-east-1")
    status, answer, headers = post(aws, "/dev/orders/iam", ORDER, other_region)
    assert (status, answer["message"], headers["x-amzn-ErrorType"]) == (
        403,
        "Credential should be scoped to a valid region.",
        "InvalidSignatureException",
    )
    other_service = signed(ORDER)
    other_service["Authorization"] = other_service["Authorization"].replace("/execute-api/", "/events/")
    status, answer, _ = post(aws, "/dev/orders/iam", ORDER, other_service)
    assert (status, answer["message"]) == (403, "Credential should be scoped to correct service: 'execute-api'.")
    assert aws.delivered() == []


def test_a_body_of_another_media_type_is_refused_when_passthrough_is_never(aws: Aws) -> None:
    api = producer_api(aws)
    executor = RestApiExecutor(aws.apigateway, aws.events, REGION)
    reply = executor.handle(
        Request("POST", "/dev/orders/1", {"Content-Type": "text/plain", "x-api-key": api.key}, "hello")
    )
    assert (reply.status, json.loads(reply.body)["message"]) == (415, "Unsupported Media Type")


def test_an_event_the_bus_refuses_gets_the_integration_response_s_error(aws: Aws) -> None:
    api = producer_api(aws, bus="no-such-bus")
    # moto answers 400 ResourceNotFoundException: not the producer's fault, so the 400 template makes it a 500
    status, answer, _ = post(aws, "/dev/orders/1", ORDER, {"x-api-key": api.key})
    assert (status, answer) == (500, {"error": "the event bus is not available, retry later"})


def test_the_gateway_serves_over_http(aws: Aws) -> None:
    """The HTTP server around the executor (on moto in-process: the executor is given its clients)."""
    api = producer_api(aws)
    gateway = LocalGateway("http://127.0.0.1:1", REGION, "127.0.0.1", 0)
    gateway.executor = RestApiExecutor(aws.apigateway, aws.events, REGION)
    gateway.start()
    try:
        request = urllib.request.Request(
            f"{gateway.url}/dev/orders/1",
            data=json.dumps(ORDER).encode(),
            headers={"Content-Type": "application/json", "x-api-key": api.key},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert "event_id" in json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{gateway.url}/dev/nothing", timeout=10)
        assert refused.value.code == 403
    finally:
        gateway.stop()


def test_path_templates_and_selection_patterns() -> None:
    assert match_path("/orders/{id}", "/orders/7") == {"id": "7"}
    assert match_path("/files/{path+}", "/files/a/b/c") == {"path": "a/b/c"}
    assert match_path("/orders/{id}", "/orders") is None
    responses = {"200": {}, "400": {"selectionPattern": "400"}, "500": {"selectionPattern": r"(5\d{2})"}}
    assert [select_integration_response(responses, status) for status in (200, 400, 503, 404)] == [
        "200",
        "400",
        "500",
        "200",
    ]


def test_a_literal_segment_wins_over_a_path_parameter_and_parameters_reach_templates(aws: Aws) -> None:
    apigateway = aws.apigateway
    api_id = apigateway.create_rest_api(name="mock")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    parent = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    for part, template in (("{id}", '{"order": "$input.params(\'id\')"}'), ("new", '{"order": "a new one"}')):
        resource = apigateway.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
        common = {"restApiId": api_id, "resourceId": resource, "httpMethod": "GET"}
        apigateway.put_method(**common, authorizationType="NONE")
        apigateway.put_integration(**common, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
        apigateway.put_method_response(**common, statusCode="200")
        apigateway.put_integration_response(
            **common, statusCode="200", responseTemplates={"application/json": template}
        )
    apigateway.create_deployment(restApiId=api_id, stageName="v1")
    executor = RestApiExecutor(aws.apigateway, aws.events, REGION)
    answers = [json.loads(executor.handle(Request("GET", f"/v1/orders/{p}", {}, "")).body) for p in ("new", "o-7")]
    assert answers == [{"order": "a new one"}, {"order": "o-7"}]
