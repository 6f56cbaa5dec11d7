"""The core roles allow what portal, generator and Terraform actually call, and the portal nothing more.

IAM is not enforced by moto, so a missing action would only show as a broken deployment in AWS. These
tests derive the needed actions from the code itself:

* the boto3 calls in the portal's and the generator's sources (method names matched against the
  botocore service models, mapped to IAM actions);
* the resource types in every example component stack, each with what the AWS provider calls to
  create, read, update and delete it, on the ARN the stack gives it.

A new boto3 call or a new resource type without its permissions fails here, naming what is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import cdktf
import pytest
from botocore import xform_name

import cdktf_stacks  # noqa: F401  (lazy provider before any provider submodule)
from broker_contract.config import RuntimeConfig
from broker_contract.examples import examples
from broker_contract.models import ConsumerDeployment, LambdaConsumer, ProducerDeployment, SqsConsumer
from broker_contract.names import BrokerNames
from component_stacks.dispatch import build_component_stack
from modules.core.policies import (
    CoreArns,
    component_boundary_statements,
    generator_statements,
    portal_statements,
)
from modules.shared.iam import Statement

pytestmark = pytest.mark.xdist_group("core-stacks")

ROOT = Path(__file__).resolve().parents[3]
REGION, ACCOUNT = "eu-west-1", "111122223333"
NAMES = BrokerNames("dev", REGION, ACCOUNT)
API_ID = "a1b2c3d4e5"
RUNTIME = RuntimeConfig.derived(NAMES, producer_api_id=API_ID, root_resource_id="r00t1d")
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"

#: the portal runs in Lambda; ``local.py`` only creates tables and buckets for local mode
PORTAL_SOURCES = [path for path in (ROOT / "portal_chalice" / "chalicelib").rglob("*.py") if path.name != "local.py"]
PORTAL_SERVICES = ("dynamodb", "s3", "schemas")
GENERATOR_SOURCES = sorted((ROOT / "generator").rglob("*.py"))
GENERATOR_SERVICES = ("apigateway", "dynamodb", "events", "kms", "s3", "secretsmanager", "sqs")

CALL = re.compile(r"\.([a-z][a-z0-9_]*)\(")
PAGINATOR = re.compile(r"get_paginator\(\s*[\"']([a-z0-9_]+)[\"']")
TRANSACTION_ITEM = re.compile(r"[\"'](Put|Update|Delete|ConditionCheck)[\"']\s*:")


# --- policy evaluation (Allow minus explicit Deny; conditions are the resource owner's opt-in) ---------


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _matches(statement: Statement, action: str, resource: str | None) -> bool:
    if not any(fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])):
        return False
    return resource is None or any(fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"]))


def allows(statements: list[Statement], action: str, resource: str | None = None) -> bool:
    """Whether ``statements`` allow ``action`` (on ``resource``, when given) and no Deny matches.

    Without a resource: allowed on some resource, i.e. no Deny of the action on every resource (``*``).
    """
    allowed = any(s["Effect"] == "Allow" and _matches(s, action, resource) for s in statements)
    denied = any(
        s["Effect"] == "Deny" and _matches(s, action, resource if resource is not None else "*") for s in statements
    )
    return allowed and not denied


# --- boto3 calls in source code ----------------------------------------------------------------


@cache
def _operations(service: str) -> dict[str, str]:
    """``{python_method_name: OperationName}`` of a botocore service."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def _iam_actions(service: str, operation: str, source: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    if service == "apigateway":
        # API Gateway authorizes HTTP verbs on resource paths, not operation names
        return {f"apigateway:{model.operation_model(operation).http['method']}"}
    if service == "dynamodb" and operation == "TransactWriteItems":
        # a transaction is authorized item by item
        return {f"dynamodb:{kind}Item" for kind in TRANSACTION_ITEM.findall(source)}
    if service == "s3" and operation == "ListObjectsV2":
        return {"s3:ListBucket"}
    if service == "s3" and operation in {"GetObject", "HeadObject"}:
        # without ListBucket a missing key answers 403, and the code treats "missing" as a normal case
        return {"s3:GetObject", "s3:ListBucket"}
    return {f"{model.signing_name}:{operation}"}


def required_actions(sources: Iterable[Path], services: tuple[str, ...]) -> dict[str, set[str]]:
    """``{iam_action: {file, ...}}`` for every call of an operation of ``services`` in ``sources``."""
    needed: dict[str, set[str]] = {}
    for path in sources:
        source = path.read_text()
        called = set(CALL.findall(source)) | set(PAGINATOR.findall(source))
        for service in services:
            for method in sorted(called & set(_operations(service))):
                for action in _iam_actions(service, _operations(service)[method], source):
                    needed.setdefault(action, set()).add(str(path.relative_to(ROOT)))
    return needed


@pytest.fixture(scope="module")
def portal_policy() -> list[Statement]:
    return portal_statements(CoreArns(NAMES), KMS_KEY)


@pytest.fixture(scope="module")
def generator_policy() -> list[Statement]:
    return generator_statements(CoreArns(NAMES), KMS_KEY, API_ID)


def test_the_scan_finds_the_calls_it_is_meant_to_find() -> None:
    # guards the scanner itself: if it found nothing, every coverage test below would pass vacuously
    assert set(required_actions(PORTAL_SOURCES, PORTAL_SERVICES)) == {
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "schemas:CreateSchema",
        "schemas:DeleteSchema",
        "schemas:UpdateSchema",
    }
    assert {"apigateway:POST", "events:UpdateConnection", "secretsmanager:GetSecretValue"} <= set(
        required_actions(GENERATOR_SOURCES, GENERATOR_SERVICES)
    )


def test_portal_role_allows_exactly_the_data_calls_the_portal_makes(portal_policy: list[Statement]) -> None:
    needed = required_actions(PORTAL_SOURCES, PORTAL_SERVICES)
    missing = {action: files for action, files in needed.items() if not allows(portal_policy, action)}
    assert missing == {}, f"the portal calls these without permission: {missing}"
    granted = {
        action
        for statement in portal_policy
        if statement["Effect"] == "Allow"
        for action in _listed(statement["Action"])
        if action.split(":")[0] in PORTAL_SERVICES
    }
    assert granted == set(needed), f"granted but never called: {sorted(granted - set(needed))}"


def test_generator_role_allows_every_call_the_generator_makes(generator_policy: list[Statement]) -> None:
    needed = required_actions(GENERATOR_SOURCES, GENERATOR_SERVICES)
    missing = {action: files for action, files in needed.items() if not allows(generator_policy, action)}
    assert missing == {}, f"the generator calls these without permission: {missing}"


# --- what Terraform's AWS provider calls for the component stacks ---------------------------------


@dataclass(frozen=True)
class Need:
    """Actions the provider calls for one resource, on one ARN (``None``: the ARN is chosen by AWS)."""

    actions: frozenset[str]
    resource: str | None


TOKEN = re.compile(r"^\$\{(?P<data>data\.)?(?P<type>aws_[a-z0-9_]+)\.(?P<id>[^.}]+)\.[a-z_]+\}$")
API_VERBS = frozenset(f"apigateway:{verb}" for verb in ("DELETE", "GET", "PATCH", "POST", "PUT"))
SQS_QUEUE = frozenset(
    {
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ListQueueTags",
        "sqs:SetQueueAttributes",
        "sqs:TagQueue",
        "sqs:UntagQueue",
    }
)
SQS_POLICY = frozenset({"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"})
RULE = frozenset(
    {
        "events:DeleteRule",
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:PutRule",
        "events:TagResource",
        "events:UntagResource",
    }
)
TARGET = frozenset({"events:ListTargetsByRule", "events:PutTargets", "events:RemoveTargets"})
CONNECTION = frozenset(
    {"events:CreateConnection", "events:DeleteConnection", "events:DescribeConnection", "events:UpdateConnection"}
)
#: EventBridge keeps a connection's credentials in a secret it creates with the caller's permissions
CONNECTION_SECRET = frozenset(
    {
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
    }
)
API_DESTINATION = frozenset(
    {
        "events:CreateApiDestination",
        "events:DeleteApiDestination",
        "events:DescribeApiDestination",
        "events:UpdateApiDestination",
    }
)
ROLE = frozenset(
    {
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
    }
)
ROLE_POLICY = frozenset({"iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy"})
PIPE = frozenset(
    {
        "pipes:CreatePipe",
        "pipes:DeletePipe",
        "pipes:DescribePipe",
        "pipes:ListTagsForResource",
        "pipes:StartPipe",
        "pipes:StopPipe",
        "pipes:TagResource",
        "pipes:UntagResource",
        "pipes:UpdatePipe",
    }
)
LAMBDA_PERMISSION = frozenset({"lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission"})
PASS_ROLE = frozenset({"iam:PassRole"})


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _api(path: str) -> str:
    return f"arn:aws:apigateway:{REGION}::{path}"


class StackReader:
    """Resolves a synthesized component stack's references to the literal names they point at."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack

    def target(self, token: str) -> dict[str, Any]:
        match = TOKEN.match(token)
        assert match is not None, f"not a resource reference: {token}"
        section = "data" if match["data"] else "resource"
        body: dict[str, Any] = self.stack[section][match["type"]][match["id"]]
        return body

    def role_arn(self, value: str) -> str:
        name = self.target(value)["name"] if value.startswith("${") else value.rsplit("/", 1)[1]
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"

    def queue_arn(self, token: str) -> str:
        return _arn("sqs", self.target(token)["name"])

    def rule_arn(self, body: dict[str, Any]) -> str:
        return _arn("events", f"rule/{body['event_bus_name']}/{body['name']}")


def _api_needs(_: StackReader, __: dict[str, Any]) -> list[Need]:
    return [Need(API_VERBS, _api(f"/restapis/{API_ID}/resources/r1/methods/POST"))]


NeedsOf = Callable[[StackReader, dict[str, Any]], list[Need]]

RESOURCE_NEEDS: dict[str, NeedsOf] = {
    "aws_sqs_queue": lambda _, b: [Need(SQS_QUEUE, _arn("sqs", b["name"]))],
    "aws_sqs_queue_policy": lambda r, b: [Need(SQS_POLICY, r.queue_arn(b["queue_url"]))],
    "aws_cloudwatch_event_rule": lambda r, b: [Need(RULE, r.rule_arn(b))],
    "aws_cloudwatch_event_target": lambda r, b: [
        Need(TARGET, r.rule_arn(r.target(b["rule"]))),
        *([Need(PASS_ROLE, r.role_arn(b["role_arn"]))] if b.get("role_arn") else []),
    ],
    "aws_cloudwatch_event_connection": lambda _, b: [
        Need(CONNECTION, _arn("events", f"connection/{b['name']}")),
        Need(CONNECTION_SECRET, _arn("secretsmanager", f"secret:events!connection/{b['name']}/0a1b2c3d-AbCdEf")),
    ],
    "aws_cloudwatch_event_api_destination": lambda _, b: [
        Need(API_DESTINATION, _arn("events", f"api-destination/{b['name']}"))
    ],
    "aws_iam_role": lambda _, b: [Need(ROLE, f"arn:aws:iam::{ACCOUNT}:role/{b['name']}")],
    "aws_iam_role_policy": lambda r, b: [Need(ROLE_POLICY, r.role_arn(b["role"]))],
    "aws_pipes_pipe": lambda r, b: [
        Need(PIPE, _arn("pipes", f"pipe/{b['name']}")),
        Need(PASS_ROLE, r.role_arn(b["role_arn"])),
    ],
    "aws_lambda_permission": lambda _, b: [Need(LAMBDA_PERMISSION, b["function_name"])],
    "aws_api_gateway_resource": _api_needs,
    "aws_api_gateway_method": _api_needs,
    "aws_api_gateway_method_response": _api_needs,
    "aws_api_gateway_integration_response": _api_needs,
    "aws_api_gateway_model": _api_needs,
    "aws_api_gateway_request_validator": _api_needs,
    "aws_api_gateway_integration": lambda r, b: [
        *_api_needs(r, b),
        *([Need(PASS_ROLE, r.role_arn(b["credentials"]))] if b.get("credentials") else []),
    ],
    "aws_api_gateway_usage_plan": lambda _, __: [
        Need(API_VERBS, _api("/usageplans")),
        Need(API_VERBS, _api("/usageplans/abc123")),
        Need(frozenset({"apigateway:GET", "apigateway:PUT", "apigateway:DELETE"}), _api("/tags/arn-of-the-plan")),
    ],
    "aws_api_gateway_api_key": lambda _, __: [Need(API_VERBS, _api("/apikeys")), Need(API_VERBS, _api("/apikeys/k1"))],
    "aws_api_gateway_usage_plan_key": lambda _, __: [Need(API_VERBS, _api("/usageplans/abc123/keys/k1"))],
}
DATA_NEEDS: dict[str, NeedsOf] = {
    "aws_api_gateway_resource": lambda _, __: [
        Need(frozenset({"apigateway:GET"}), _api(f"/restapis/{API_ID}/resources"))
    ],
}


def _deployments() -> dict[str, ProducerDeployment | ConsumerDeployment]:
    """Every example, plus a function and a queue of another account (their delivery roles)."""
    found = examples()
    lam, sqs = found["consumer-lambda"], found["consumer-sqs"]
    assert isinstance(lam, ConsumerDeployment)
    assert isinstance(sqs, ConsumerDeployment)
    other = f"arn:aws:lambda:{REGION}:444455556666:function:f"
    found["consumer-lambda-cross-account"] = lam.model_copy(
        update={"subscription_id": "sub-00000000000000f1", "consumer": LambdaConsumer(connection_string=other)}
    )
    found["consumer-sqs-cross-account"] = sqs.model_copy(
        update={
            "subscription_id": "sub-00000000000000f2",
            "consumer": SqsConsumer(connection_string=f"arn:aws:sqs:{REGION}:444455556666:q"),
        }
    )
    return found


@pytest.fixture(scope="module")
def component_stacks() -> dict[str, dict[str, Any]]:
    """Every deployment of ``_deployments``' component stack, synthesized once."""
    app = cdktf.Testing.app()
    return {
        name: json.loads(cdktf.Testing.synth(build_component_stack(app, deployment, RUNTIME)))
        for name, deployment in _deployments().items()
    }


def terraform_needs(name: str, stack: dict[str, Any]) -> list[tuple[str, Need]]:
    """``(address, need)`` of every resource and data source of ``stack``; unknown types fail."""
    reader = StackReader(stack)
    found: list[tuple[str, Need]] = []
    for section, table in (("resource", RESOURCE_NEEDS), ("data", DATA_NEEDS)):
        for resource_type, bodies in stack.get(section, {}).items():
            assert resource_type in table, (
                f"{name}: {section} {resource_type} has no known IAM needs; grant them in "
                "modules.core.policies.generator_statements and list them here"
            )
            for logical_id, body in bodies.items():
                found += [
                    (f"{section}.{resource_type}.{logical_id}", need) for need in table[resource_type](reader, body)
                ]
    return found


def test_the_examples_cover_every_component_kind(component_stacks: dict[str, dict[str, Any]]) -> None:
    used = {t for stack in component_stacks.values() for t in stack["resource"]}
    assert used == set(RESOURCE_NEEDS)
    assert {t for stack in component_stacks.values() for t in stack.get("data", {})} == set(DATA_NEEDS)


def test_generator_role_lets_terraform_manage_every_component_resource(
    component_stacks: dict[str, dict[str, Any]], generator_policy: list[Statement]
) -> None:
    missing = [
        f"{name} {address}: {action} on {need.resource}"
        for name, stack in component_stacks.items()
        for address, need in terraform_needs(name, stack)
        for action in sorted(need.actions)
        if not allows(generator_policy, action, need.resource)
    ]
    assert missing == []


def test_the_generator_cannot_touch_core_roles_or_queues(generator_policy: list[Statement]) -> None:
    changes = {"iam:AttachRolePolicy", "iam:DeleteRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"}
    for action in sorted(changes):
        assert not allows(generator_policy, action, f"arn:aws:iam::{ACCOUNT}:role/{NAMES.generator_role}")
        assert not allows(generator_policy, action, f"arn:aws:iam::{ACCOUNT}:role/{NAMES.portal_role}")
    assert allows(generator_policy, "iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/dev-eb-pipe-orders-v1")
    for action in ("sqs:DeleteQueue", "sqs:SetQueueAttributes"):
        assert not allows(generator_policy, action, _arn("sqs", NAMES.generator_queue))
        assert not allows(generator_policy, action, _arn("sqs", NAMES.generator_dead_letter_queue))


# --- the generator's rights stop at the broker's own names, and at the boundary ---------------------


def test_the_generator_creates_roles_and_queues_only_under_the_broker_prefixes(
    generator_policy: list[Statement],
) -> None:
    # another team's dev-* roles and queues are out of reach
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole", "iam:PassRole"):
        assert not allows(generator_policy, action, f"arn:aws:iam::{ACCOUNT}:role/dev-payments-admin")
        assert allows(generator_policy, action, f"arn:aws:iam::{ACCOUNT}:role/dev-eb-sub-0000000000000001-delivery")
    for action in ("sqs:CreateQueue", "sqs:DeleteQueue"):
        assert not allows(generator_policy, action, _arn("sqs", "dev-payments-orders"))
        assert allows(generator_policy, action, _arn("sqs", "dev-producer-orders-v1"))
        assert allows(generator_policy, action, _arn("sqs", "dev-sub-0000000000000001-dlq"))


def test_every_role_the_generator_creates_must_carry_the_boundary(
    generator_policy: list[Statement], component_stacks: dict[str, dict[str, Any]]
) -> None:
    boundary = CoreArns(NAMES).component_boundary
    granting = {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"}
    for statement in generator_policy:
        if statement["Effect"] == "Allow" and granting & set(_listed(statement["Action"])):
            assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    # and removing it, or attaching managed policies, is denied outright
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy"):
        assert not allows(generator_policy, action, f"arn:aws:iam::{ACCOUNT}:role/dev-eb-pipe-orders-v1")
    roles = [body for stack in component_stacks.values() for body in stack["resource"].get("aws_iam_role", {}).values()]
    assert len(roles) == 5  # HTTPS target, pipe, publisher, two delivery roles
    for role in roles:
        assert role["name"].startswith(NAMES.component_role_prefix)
        assert role["permissions_boundary"] == boundary


def test_consumer_functions_are_reachable_only_when_tagged_for_the_broker(generator_policy: list[Statement]) -> None:
    statements = [s for s in generator_policy if "lambda:AddPermission" in _listed(s["Action"])]
    assert [s["Condition"] for s in statements] == [{"StringEquals": {"aws:ResourceTag/event-broker": "dev"}}]


def _resolve(reader: StackReader, value: str) -> str:
    """The ARN a component policy's resource names (references resolved to the named resource's ARN)."""
    if not value.startswith("${"):
        return value
    body = reader.target(value)
    if "aws_sqs_queue." in value:
        return _arn("sqs", body["name"])
    assert "aws_cloudwatch_event_api_destination." in value, value
    return _arn("events", f"api-destination/{body['name']}")


def test_every_component_role_stays_within_the_boundary(component_stacks: dict[str, dict[str, Any]]) -> None:
    boundary = component_boundary_statements(CoreArns(NAMES), API_ID)
    outside = []
    for name, stack in component_stacks.items():
        reader = StackReader(stack)
        for body in stack["resource"].get("aws_iam_role_policy", {}).values():
            for statement in json.loads(body["policy"])["Statement"]:
                for action in _listed(statement["Action"]):
                    for resource in _listed(statement["Resource"]):
                        arn = _resolve(reader, resource)
                        if not allows(boundary, action, arn):
                            outside.append(f"{name}: {action} on {arn}")
    assert outside == []
    assert not allows(boundary, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x")
    assert not allows(boundary, "sqs:SendMessage", "arn:aws:sqs:us-east-1:444455556666:q")
    assert not allows(boundary, "execute-api:Invoke", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:other-api/dev/POST/x/1")
