"""The core roles allow what portal, generator and Terraform actually call, and nothing beyond the broker.

IAM is not enforced by moto, so a missing action would only show as a broken deployment in AWS, and an
excess one never shows at all. The policies evaluated here are the ones the synthesized broker stack
attaches to its roles (IAM's own rules: an explicit Deny wins, a condition holds only when the request
carries its key). The needed actions are derived from the code itself:

* the boto3 calls in the portal's and the generator's sources (method names matched against the
  botocore service models, mapped to IAM actions);
* the resource types in every example component stack, each with what the AWS provider calls to
  create, read, update and delete it, on the ARN the stack gives it.

A new boto3 call or a new resource type without its permissions fails here, naming what is missing; so
does a grant that reaches another environment's resources, or any resource of the account.
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
from cdktf_stacks.app import BROKER_STACK, build_core_app
from component_stacks.dispatch import build_component_stack
from modules.core.policies import BROKER_TAG, CoreArns, component_boundary_statements
from modules.shared.iam import Statement
from tests.functional.stacks.conftest import CONFIG, ref, the

pytestmark = pytest.mark.xdist_group("core-stacks")

ROOT = Path(__file__).resolve().parents[3]
#: the examples' consumers live in this account, so their deliveries are same-account ones
ACCOUNT = "111122223333"
ENVIRONMENT = CONFIG.model_copy(update={"account_id": ACCOUNT})
NAMES = ENVIRONMENT.names
REGION = NAMES.region
#: what AWS chooses at creation time, in place of the synthesized stack's tokens
API_ID = "a1b2c3d4e5"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
TOKENS = {
    re.compile(r"\$\{aws_api_gateway_rest_api\.[^.}]+\.id\}"): API_ID,
    re.compile(r"\$\{aws_kms_key\.[^.}]+\.arn\}"): KMS_KEY,
}
RUNTIME = RuntimeConfig.derived(NAMES, producer_api_id=API_ID, root_resource_id="r00t1d")

#: the portal runs in Lambda; ``local.py`` only creates tables and buckets for local mode
PORTAL_SOURCES = [path for path in (ROOT / "portal_chalice" / "chalicelib").rglob("*.py") if path.name != "local.py"]
PORTAL_SERVICES = ("dynamodb", "s3", "schemas")
GENERATOR_SOURCES = sorted((ROOT / "generator").rglob("*.py"))
GENERATOR_SERVICES = ("apigateway", "dynamodb", "events", "kms", "s3", "secretsmanager", "sqs")

CALL = re.compile(r"\.([a-z][a-z0-9_]*)\(")
PAGINATOR = re.compile(r"get_paginator\(\s*[\"']([a-z0-9_]+)[\"']")
TRANSACTION_ITEM = re.compile(r"[\"'](Put|Update|Delete|ConditionCheck)[\"']\s*:")


# --- policy evaluation (Allow minus explicit Deny) -------------------------------------------------

#: a request's condition keys and values (``aws:ResourceTag/...``, ``iam:PassedToService`` ...)
Context = dict[str, str]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _holds(statement: Statement, context: Context | None) -> bool:
    """Whether the statement's conditions hold (``StringEquals`` only, the one operator our policies use).

    Without a context, conditions count as met: the resource owner's opt-in (a tag, a boundary) is assumed.
    """
    if context is None:
        return True
    for operator, keys in statement.get("Condition", {}).items():
        assert operator == "StringEquals", f"no evaluation of condition operator {operator}"
        if any(context.get(key) not in _listed(values) for key, values in keys.items()):
            return False
    return True


def _matches(statement: Statement, action: str, resource: str | None, context: Context | None) -> bool:
    if not any(fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])):
        return False
    if resource is not None and not any(fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])):
        return False
    return _holds(statement, context)


def allows(
    statements: list[Statement], action: str, resource: str | None = None, context: Context | None = None
) -> bool:
    """Whether ``statements`` allow ``action`` (on ``resource``, when given) and no Deny matches.

    Without a resource: allowed on some resource, i.e. no Deny of the action on every resource (``*``).
    With a ``context``, conditions are evaluated against it (a key it lacks fails the condition).
    """
    allowed = any(s["Effect"] == "Allow" and _matches(s, action, resource, context) for s in statements)
    denied = any(
        s["Effect"] == "Deny" and _matches(s, action, resource if resource is not None else "*", context)
        for s in statements
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
def broker_stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The synthesized broker stack of ``ENVIRONMENT``."""
    outdir = tmp_path_factory.mktemp("iam-core")
    app = build_core_app(ENVIRONMENT, outdir=str(outdir), state_directory=outdir)
    stack = app.node.find_child(BROKER_STACK)
    assert isinstance(stack, cdktf.TerraformStack)
    synthesized: dict[str, Any] = json.loads(cdktf.Testing.synth(stack))
    return synthesized


def attached_policy(broker_stack: dict[str, Any], role_name: str) -> list[Statement]:
    """The statements of the inline policy the synthesized broker stack gives ``role_name``, tokens resolved."""
    role_id, _ = the(broker_stack, "aws_iam_role", name=role_name)
    _, body = the(broker_stack, "aws_iam_role_policy", role=ref("aws_iam_role", role_id, "id"))
    text = body["policy"]
    for token, value in TOKENS.items():
        text = token.sub(value, text)
    assert "${" not in text, f"unresolved token in the policy of {role_name}: {text}"
    statements: list[Statement] = json.loads(text)["Statement"]
    return statements


@pytest.fixture(scope="module")
def portal_policy(broker_stack: dict[str, Any]) -> list[Statement]:
    return attached_policy(broker_stack, NAMES.portal_role)


@pytest.fixture(scope="module")
def generator_policy(broker_stack: dict[str, Any]) -> list[Statement]:
    return attached_policy(broker_stack, NAMES.generator_role)


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
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert allows(generator_policy, action, COMPONENT_ROLE, {BOUNDARY_KEY: BOUNDARY})
        assert not allows(generator_policy, action, COMPONENT_ROLE, {})
        assert not allows(generator_policy, action, COMPONENT_ROLE, {BOUNDARY_KEY: ADMINISTRATOR})
    # and removing it, or attaching managed policies, is denied outright, boundary or not
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy"):
        assert not allows(generator_policy, action, COMPONENT_ROLE, {BOUNDARY_KEY: BOUNDARY})
    roles = [body for stack in component_stacks.values() for body in stack["resource"].get("aws_iam_role", {}).values()]
    assert len(roles) == 5  # HTTPS target, pipe, publisher, two delivery roles
    for role in roles:
        assert role["name"].startswith(NAMES.component_role_prefix)
        assert role["permissions_boundary"] == BOUNDARY


# --- what someone holding a core role's credentials would want is out of reach -----------------------

ARNS = CoreArns(NAMES)
COMPONENT_ROLE = ARNS.role(f"{NAMES.component_role_prefix}sub-0000000000000001-delivery")
BOUNDARY = ARNS.component_boundary
BOUNDARY_KEY = "iam:PermissionsBoundary"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
FUNCTION = _arn("lambda", "function:payments-ledger")
SECRET = _arn("secretsmanager", "secret:payments-db-AbCdEf")
QUEUE = _arn("sqs", "payments-orders")
TAGGED_FOR_US = {
    f"aws:ResourceTag/{BROKER_TAG}": NAMES.environment,
    f"secretsmanager:ResourceTag/{BROKER_TAG}": NAMES.environment,
}
TAGGED_FOR_PROD = {key: "prod" for key in TAGGED_FOR_US}


@pytest.mark.parametrize(
    ("action", "resource", "granted", "refused"),
    [
        ("iam:PassRole", COMPONENT_ROLE, {"iam:PassedToService": "pipes.amazonaws.com"},
         {"iam:PassedToService": "lambda.amazonaws.com"}),
        ("iam:PassRole", ARNS.role(NAMES.apigateway_events_role), {"iam:PassedToService": "apigateway.amazonaws.com"},
         {"iam:PassedToService": "ec2.amazonaws.com"}),
        ("lambda:AddPermission", FUNCTION, TAGGED_FOR_US, {}),
        ("lambda:AddPermission", FUNCTION, TAGGED_FOR_US, TAGGED_FOR_PROD),
        ("secretsmanager:GetSecretValue", SECRET, TAGGED_FOR_US, {}),
        ("secretsmanager:GetSecretValue", SECRET, TAGGED_FOR_US, TAGGED_FOR_PROD),
        ("sqs:SetQueueAttributes", QUEUE, TAGGED_FOR_US, {}),
    ],
)  # fmt: skip
def test_a_team_s_resource_is_reachable_only_once_its_owner_opts_in(
    generator_policy: list[Statement], action: str, resource: str, granted: Context, refused: Context
) -> None:
    assert allows(generator_policy, action, resource, granted)
    assert not allows(generator_policy, action, resource, refused)


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreateUser", ARNS.role("intruder").replace(":role/", ":user/")),
        ("iam:CreateAccessKey", ARNS.role("admin").replace(":role/", ":user/")),
        ("iam:PassRole", ARNS.role(NAMES.generator_role)),
        ("iam:PassRole", ARNS.role(NAMES.portal_role)),
        ("iam:UpdateAssumeRolePolicy", ARNS.role(NAMES.generator_role)),
        ("sts:AssumeRole", ARNS.role(NAMES.portal_role)),
        ("lambda:InvokeFunction", FUNCTION),
        ("lambda:UpdateFunctionCode", ARNS.generator_function),
        ("s3:GetObject", ARNS.objects("payments-exports")),
        ("s3:PutObject", ARNS.objects(NAMES.producer_bucket)),
        ("s3:DeleteObject", ARNS.objects(NAMES.artifact_bucket)),
        ("dynamodb:Scan", ARNS.catalog_table),
        ("dynamodb:DeleteTable", ARNS.catalog_table),
        ("dynamodb:GetItem", ARNS.table("payments")),
        ("kms:Decrypt", _arn("kms", "key/11111111-1111-1111-1111-111111111111")),
        ("kms:ScheduleKeyDeletion", KMS_KEY),
        ("events:PutRule", _arn("events", f"rule/{NAMES.environment}-catch-all")),
        ("events:PutEvents", ARNS.event_bus),
        ("events:DeleteEventBus", ARNS.event_bus),
        ("sqs:ReceiveMessage", QUEUE),
        ("sqs:SendMessage", ARNS.queue(NAMES.generator_queue)),
        ("apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis"),
        ("apigateway:DELETE", f"arn:aws:apigateway:{REGION}::/restapis/f6g7h8i9j0"),
        ("logs:PutLogEvents", ARNS.log_group("/aws/lambda/payments-ledger:*")),
        ("ec2:RunInstances", "*"),
        ("cloudformation:CreateStack", "*"),
    ],
)
def test_the_generator_gets_nothing_an_intruder_would_want(
    generator_policy: list[Statement], action: str, resource: str
) -> None:
    # even on resources tagged for the broker: the tag opts a resource in to delivery, not to this
    assert not allows(generator_policy, action, resource, TAGGED_FOR_US)


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("dynamodb:Scan", ARNS.catalog_table),
        ("dynamodb:DeleteTable", ARNS.catalog_table),
        ("s3:DeleteObject", ARNS.objects(NAMES.producer_bucket)),
        ("s3:PutObject", ARNS.objects(NAMES.artifact_bucket)),
        ("s3:GetObject", ARNS.objects(NAMES.state_bucket)),
        ("kms:ScheduleKeyDeletion", KMS_KEY),
        ("apigateway:DELETE", f"arn:aws:apigateway:{REGION}::/apikeys/k1"),
        ("schemas:DeleteRegistry", _arn("schemas", f"registry/{NAMES.schema_registry}")),
        ("iam:PassRole", ARNS.role(NAMES.generator_role)),
        ("lambda:InvokeFunction", ARNS.generator_function),
        ("events:PutEvents", ARNS.event_bus),
        ("sqs:SendMessage", ARNS.queue(NAMES.generator_queue)),
    ],
)
def test_the_portal_gets_nothing_an_intruder_would_want(
    portal_policy: list[Statement], action: str, resource: str
) -> None:
    assert not allows(portal_policy, action, resource, TAGGED_FOR_US)


#: grants that reach beyond the environment's names, each for a reason AWS gives (checked to be still needed)
ACCOUNT_WIDE = {
    "generator": {
        "events:ListRuleNamesByTarget": "IAM authorizes this look-up on every rule of the account",
        "kms:DescribeKey": "Terraform reads the key of a consumer's encrypted queue, whoever owns it",
        "kms:GetKeyPolicy": "Terraform reads the key of a consumer's encrypted queue, whoever owns it",
        "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
        "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
        "apigateway:*": "API keys and usage plans get ids from AWS, not names a prefix could scope",
    },
    "portal": {
        "apigateway:GET": "API keys get ids from AWS, not names a prefix could scope",
        "logs:*": "Chalice names the portal's function, and so its log group, at deploy time",
    },
}


def _twin(value: str) -> str:
    """The same ARN (or condition value) in another environment, on another API and key, wildcards filled."""
    twin = value.replace(API_ID, "f6g7h8i9j0").replace(KMS_KEY, _arn("kms", "key/other"))
    return twin.replace(NAMES.environment, "prod").replace("*", "x")


@pytest.mark.parametrize("role", ["generator", "portal"])
def test_another_environment_s_resources_are_out_of_reach(
    role: str, generator_policy: list[Statement], portal_policy: list[Statement]
) -> None:
    """Every grant, taken to its twin in environment 'prod' (its tags, its boundary), is refused."""
    policy = {"generator": generator_policy, "portal": portal_policy}[role]
    exceptions = ACCOUNT_WIDE[role]
    reaching, excused = [], set()
    for statement in policy:
        if statement["Effect"] != "Allow":
            continue
        twin_context = {
            key: _twin(_listed(values)[0])
            for keys in statement.get("Condition", {}).values()
            for key, values in keys.items()
        }
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                if not allows(policy, action, _twin(resource), twin_context):
                    continue
                excuse = next((pattern for pattern in exceptions if fnmatchcase(action, pattern)), None)
                if excuse is None:
                    reaching.append(f"{statement['Sid']}: {action} on {_twin(resource)}")
                excused.add(excuse)
    assert reaching == []
    assert excused - {None} == set(exceptions), "an exception no grant needs any more"


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
