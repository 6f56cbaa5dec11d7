"""``/deployments``, authentication (401/403), ``/openapi.json`` and ``/health``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from app import app
from chalice.test import Client
from chalicelib.openapi import OPERATIONS
from chalicelib.services.backend import Backend
from openapi_spec_validator import validate

from broker_contract.dynamo_items import serialize
from broker_contract.models import DeploymentStatus
from broker_contract.names import IDENTIFIER_PATTERN
from tests.functional.portal.conftest import BILLING, OTHER, SHOP, body, create_event, subscribe

pytestmark = pytest.mark.usefixtures("no_unhandled")
ROOT = Path(__file__).resolve().parents[3]


def test_get_deployment_record(client: Client) -> None:
    created = create_event(client)
    response = client.http.get(f"/deployments/{created['deployment_id']}", headers=SHOP)
    assert response.status_code == 200
    record = response.json_body
    assert (record["status"], record["kind"], record["action"], record["sequence"]) == (
        "pending",
        "producer",
        "deploy",
        1,
    )
    assert record["component_id"] == "producer-order-created-v1"
    assert [change["status"] for change in record["history"]] == ["pending"]


def test_deployment_readable_by_requester_and_event_owner_only(client: Client) -> None:
    create_event(client)
    sub = subscribe(client)
    path = f"/deployments/{sub['deployment_id']}"
    assert client.http.get(path, headers=BILLING).status_code == 200
    assert client.http.get(path, headers=SHOP).status_code == 200
    assert client.http.get(path, headers=OTHER).status_code == 403


def test_terraform_is_404_until_synthesized_then_returned(client: Client, backend: Backend) -> None:
    created = create_event(client)
    path = f"/deployments/{created['deployment_id']}/terraform"
    pending = client.http.get(path, headers=SHOP)
    assert pending.status_code == 404
    assert "no synthesized Terraform yet (status pending)" in pending.json_body["error"]["message"]
    # what the generator does after synth
    record = backend.deployments.get(created["deployment_id"])
    assert record is not None
    key = f"producer-order-created-v1/{created['deployment_id']}/cdk.tf.json"
    synthesized = record.model_copy(update={"status": DeploymentStatus.SYNTHESIZED, "artifact_key": key})
    backend.catalog.client.put_item(TableName=backend.config.catalog_table_name, Item=serialize(synthesized.to_item()))
    still_missing = client.http.get(path, headers=SHOP)
    assert still_missing.status_code == 404
    terraform = {"resource": {"aws_sqs_queue": {"queue": {"name": "dev-producer-order-created-v1"}}}}
    backend.storage.put_json(backend.config.artifact_bucket_name, key, terraform)
    response = client.http.get(path, headers=SHOP)
    assert response.status_code == 200
    assert response.json_body == terraform


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/deployments/dep-00000000000000ff", 404),
        ("/deployments/dep-00000000000000ff/terraform", 404),
        ("/deployments/dep-1", 400),
        ("/deployments/42/terraform", 400),
    ],
)
def test_deployment_unknown_or_malformed(client: Client, path: str, status: int) -> None:
    assert client.http.get(path, headers=SHOP).status_code == status


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/events"),
        ("post", "/events"),
        ("get", "/events/order-created"),
        ("put", "/events/order-created"),
        ("delete", "/events/order-created"),
        ("get", "/events/order-created/versions/1"),
        ("delete", "/events/order-created/versions/1"),
        ("post", "/subscriptions"),
        ("get", "/subscriptions"),
        ("get", "/subscriptions/sub-0000000000000001"),
        ("delete", "/subscriptions/sub-0000000000000001"),
        ("get", "/deployments/dep-0000000000000001"),
        ("get", "/deployments/dep-0000000000000001/terraform"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "tok-shop"}, {"Authorization": "Basic abc"}],
)
def test_every_endpoint_needs_a_known_token(
    bare_client: Client, method: str, path: str, headers: dict[str, str]
) -> None:
    response = getattr(bare_client.http, method)(
        path, headers={**headers, "Content-Type": "application/json"}, body="{}"
    )
    assert response.status_code == 401


def test_unknown_token_gets_the_portal_error_shape(bare_client: Client) -> None:
    response = bare_client.http.get("/events", headers={"Authorization": "Bearer nope"})
    assert response.json_body["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer <token>" in response.json_body["error"]["message"]


def test_openapi_and_health_need_no_auth(bare_client: Client) -> None:
    client = bare_client
    document = client.http.get("/openapi.json").json_body
    assert document["openapi"].startswith("3.")
    # generated from the route table: every route the app serves, with Chalice's own templates
    assert {(path, method.upper()) for path, item in document["paths"].items() for method in item} == {
        (path, method) for path, methods in app.routes.items() for method in methods
    }
    schemas = document["components"]["schemas"]
    assert schemas["EventCreateRequest"]["additionalProperties"] is False
    assert set(schemas["EventCreateRequest"]["required"]) == {"application", "event_type", "connection_type", "data"}
    assert {"SubscriptionCreateRequest", "DeploymentRecord", "ErrorBody", "EventList"} <= set(schemas)
    assert document["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventCreateRequest"
    }
    assert client.http.get("/health").json_body == {"status": "ok"}


def test_every_route_is_described_with_ids_tags_bounds_and_its_errors(bare_client: Client) -> None:
    document = bare_client.http.get("/openapi.json").json_body
    validate(document)
    operations = [
        (path, method, operation) for path, item in document["paths"].items() for method, operation in item.items()
    ]
    views = {entry.view_name for methods in app.routes.values() for entry in methods.values()}
    # a new route without an entry in OPERATIONS would be listed generically: this keeps them in step
    assert views == set(OPERATIONS)
    assert sorted(operation["operationId"] for _, _, operation in operations) == sorted(views)
    # public routes: the document, liveness and the catalog pages (files without data); they alone have no
    # security requirement and so no 401, every other operation declares every error the portal answers
    public = {path for path, _, operation in operations if operation.get("security") == []}
    assert public == {"/openapi.json", "/health", "/catalog", "/catalog/static/{name}"}
    unauthorized = {path for path, methods in app.routes.items() for entry in methods.values() if not entry.authorizer}
    assert public == unauthorized
    for path, _, operation in operations:
        assert operation["tags"] and operation["tags"][0] != "other"
        errors = {"400", "403", "404", "409", "415"} | ({"401"} if path not in public else set())
        assert errors <= set(operation["responses"]), path
        for parameter in operation["parameters"]:
            schema = parameter["schema"]
            assert "pattern" in schema or "maximum" in schema or "enum" in schema, (path, parameter)
    text = json.dumps(document)
    assert '"ge"' not in text and '"le"' not in text
    get_event = document["paths"]["/events/{event_type}"]["get"]
    assert get_event["parameters"][0]["schema"]["pattern"] == IDENTIFIER_PATTERN
    limit = next(p for p in document["paths"]["/events"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


def test_producer_access_graph_and_catalog_pages_are_described_with_what_they_answer(bare_client: Client) -> None:
    document = bare_client.http.get("/openapi.json").json_body
    paths, schemas = document["paths"], document["components"]["schemas"]

    def success(path: str) -> dict[str, Any]:
        return dict(paths[path]["get"]["responses"]["200"]["content"])

    producer = success("/events/{event_type}/versions/{version}/producer")
    assert producer == {"application/json": {"schema": {"$ref": "#/components/schemas/ProducerInstructions"}}}
    instructions = schemas["ProducerInstructions"]
    assert set(instructions["required"]) == {
        "event_type",
        "version",
        "connection_type",
        "deployment_id",
        "deployment_status",
        "ready",
    }
    assert {"endpoint_url", "api_key", "publisher_role_arn", "queue_url", "example", "message"} <= set(
        instructions["properties"]
    )
    assert success("/graph") == {"application/json": {"schema": {"$ref": "#/components/schemas/Graph"}}}
    assert set(schemas["GraphEdge"]["properties"]) == {"from", "to"}
    graph_query = paths["/graph"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]["pattern"]) for p in graph_query] == [
        ("event_type", "query", IDENTIFIER_PATTERN)
    ]
    # the pages are files, not JSON, and public
    assert success("/catalog") == {"text/html": {"schema": {"type": "string"}}}
    assert set(success("/catalog/static/{name}")) == {"text/css", "text/javascript"}
    name = paths["/catalog/static/{name}"]["get"]["parameters"][0]
    assert name["schema"]["enum"] == ["catalog.css", "catalog.js"]
    assert paths["/catalog"]["get"]["security"] == [] and paths["/graph"]["get"].get("security") != []


def test_chalices_own_refusals_take_the_portal_error_shape(client: Client) -> None:
    unsupported = client.http.post("/events", headers={**SHOP, "Content-Type": "text/plain"}, body="x")
    assert unsupported.status_code == 415
    assert unsupported.json_body["error"]["code"] == "unsupported_media_type"
    assert unsupported.json_body["error"]["details"][0]["field"] == "Content-Type"
    wrong = client.http.request("PATCH", "/events", headers=SHOP, body="{}")
    assert (wrong.status_code, wrong.json_body["error"]["code"]) == (405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]


def test_unexpected_exception_is_a_json_500_without_trace(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event_type: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(backend.catalog, "get_event", boom)
    response = client.http.get("/events/order-created/versions/1", headers=SHOP)
    assert response.status_code == 500
    error = response.json_body["error"]
    assert error["code"] == "internal"
    assert "secret internals" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    assert [record.name for record in caplog.records if record.levelname == "ERROR"] == ["chalicelib.unhandled"]
    caplog.clear()  # this test is the one expected visit to the middleware


# --- import-time authorizer selection (fresh interpreters) ---------------------------------------

_PROBE = textwrap.dedent(
    """
    import base64, json, sys
    from app import app
    from chalicelib import auth
    route = app.routes["/events"]["GET"]
    print(json.dumps({
        "mode": auth.MODE.value,
        "authorizer": type(route.authorizer).__name__,
        "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("cdktf", "jsii", "cdktf_cdktf_provider_aws")),
        "openapi_unauthenticated": app.routes["/openapi.json"]["GET"].authorizer is None,
    }))
    """
)


def _probe(mode: str, extra: dict[str, str] | None = None) -> str:
    env = {**os.environ, "BROKER_PORTAL_AUTH": mode, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "portal_chalice")])
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT / "portal_chalice",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("mode", "extra", "authorizer"),
    [
        ("token", {}, "ChaliceAuthorizer"),
        (
            "cognito",
            {"BROKER_PORTAL_USER_POOL_ARN": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Ab"},
            "CognitoUserPoolAuthorizer",
        ),
        ("iam", {}, "IAMAuthorizer"),
    ],
)
def test_authorizer_is_chosen_at_import_time_and_no_cdktf_is_loaded(
    mode: str, extra: dict[str, str], authorizer: str
) -> None:
    probe = json.loads(_probe(mode, extra))
    assert probe == {"mode": mode, "authorizer": authorizer, "heavy": [], "openapi_unauthenticated": True}


def test_cognito_mode_without_pool_refuses_to_start() -> None:
    env = {**os.environ, "BROKER_PORTAL_AUTH": "cognito", "BROKER_PORTAL_USER_POOL_ARN": ""}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "portal_chalice")])
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT / "portal_chalice",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "BROKER_PORTAL_AUTH=cognito needs BROKER_PORTAL_USER_POOL_ARN" in result.stderr


_COGNITO_FLOW = textwrap.dedent(
    """
    import base64, json
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from app import app
    from chalicelib import container
    from chalicelib.aws.catalog import CatalogRepository
    from chalicelib.aws.registry import LocalSchemaRegistry
    from chalicelib.aws.storage import ObjectStorage
    from tests.support.portal_wiring import create_buckets, create_catalog_table, runtime_config
    from chalicelib.services.backend import Backend
    from chalicelib.settings import PortalSettings

    def jwt(claims):
        encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        return f"{encode({'alg': 'none'})}.{encode(claims)}.sig"

    with mock_aws():
        config = runtime_config()
        ddb, s3 = boto3.client("dynamodb", region_name=config.region), boto3.client("s3", region_name=config.region)
        create_catalog_table(ddb, config.catalog_table_name)
        create_buckets(s3, config)
        backend = Backend(config, CatalogRepository(config.catalog_table_name, lambda: ddb),
                          ObjectStorage(lambda: s3), LocalSchemaRegistry())
        container.install(container.Services.over(backend, PortalSettings.from_env()))
        data = {"application": "shop", "event_type": "order-created", "connection_type": "SQS",
                "data": {"type": "object"}}
        with Client(app) as client:
            team = {"authorization": jwt({"cognito:username": "ann", "custom:team": "shop-team"})}
            no_team = {"authorization": jwt({"cognito:username": "bob"})}
            created = client.http.post("/events", headers={**team, "content-type": "application/json"},
                                       body=json.dumps(data))
            refused = client.http.get("/events", headers=no_team)
            print(json.dumps([created.status_code, created.json_body["event"]["owner"], refused.status_code]))
    """
)


def test_cognito_mode_takes_the_team_from_the_custom_team_claim() -> None:
    env = {
        **os.environ,
        "BROKER_PORTAL_AUTH": "cognito",
        "BROKER_PORTAL_USER_POOL_ARN": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Ab",
        "BROKER_SCHEMA_REGISTRY_MODE": "local",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "portal_chalice")]),
    }
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _COGNITO_FLOW],
        cwd=ROOT / "portal_chalice",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '[201, "shop-team", 403]'


def test_body_of_401_request_is_never_parsed(bare_client: Client) -> None:
    response = bare_client.http.post("/events", headers={"Authorization": "Bearer x"}, body=body({"junk": True}))
    assert response.status_code == 401
