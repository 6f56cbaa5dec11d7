"""Create in the embedded AWS (moto) what a synthesized core stack declares.

The core stacks are the one source of truth: local mode reads their ``cdk.tf.json`` and maps each
resource type to the boto3 calls that create it, so a table, bucket or queue added to the broker stack
appears in local mode without a second list to maintain. Types moto lacks (or local mode does not need)
are skipped with a one-line note; references to their arguments still resolve (``name``, ``stage_name``
...), so outputs such as the schema registry name keep working.

Plan, then act: ``StackDocument`` and the ordering are pure; ``Provisioner`` makes the calls through
clients it is given.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from local_mode.references import UnresolvedReferenceError, references, resolve, resource_address

log = logging.getLogger(__name__)

Attributes = dict[str, Any]


class ClientSource(Protocol):
    """Gives a boto3 client per service name (``"s3"``, ``"sqs"`` ...)."""

    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class StackDocument:
    """The parts of a synthesized stack local mode reads."""

    name: str
    resources: dict[str, dict[str, Any]]
    data: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    variables: dict[str, Any]

    @classmethod
    def from_json(cls, name: str, document: Mapping[str, Any]) -> StackDocument:
        resources = {
            f"{kind}.{logical}": config
            for kind, by_name in document.get("resource", {}).items()
            for logical, config in by_name.items()
        }
        data = {
            f"data.{kind}.{logical}": config
            for kind, by_name in document.get("data", {}).items()
            for logical, config in by_name.items()
        }
        outputs = {key: output.get("value") for key, output in document.get("output", {}).items()}
        variables = {key: var.get("default") for key, var in document.get("variable", {}).items()}
        return cls(name, resources, data, outputs, variables)

    @classmethod
    def load(cls, path: Path) -> StackDocument:
        return cls.from_json(path.parent.name, json.loads(path.read_text()))


def creation_order(resources: Mapping[str, dict[str, Any]]) -> list[str]:
    """Addresses ordered so each resource comes after the resources it refers to (stable otherwise)."""
    pending = {
        address: {dep for ref in references(config) if (dep := resource_address(ref)) and dep != address}
        for address, config in sorted(resources.items())
    }
    ordered: list[str] = []
    done: set[str] = set()
    while pending:
        ready = [address for address, deps in pending.items() if deps <= done or not (deps & pending.keys())]
        if not ready:
            # a cycle (Terraform would refuse it too); keep going in name order so nothing is lost
            ready = [next(iter(pending))]
        for address in ready:
            ordered.append(address)
            done.add(address)
            del pending[address]
    return ordered


@dataclass
class ProvisionResult:
    """What was created: attributes per resource address, resolved outputs, and notes for the user."""

    attributes: dict[str, Attributes] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: resource type -> (how many, why) for types local mode does not create
    skipped: dict[str, tuple[int, str]] = field(default_factory=dict)

    def skip(self, kind: str, reason: str) -> None:
        count, _ = self.skipped.get(kind, (0, reason))
        self.skipped[kind] = (count + 1, reason)

    def summary(self) -> list[str]:
        """One line per skipped type, then the other notes."""
        lines = [f"skipped {kind} x{count}: {reason}" for kind, (count, reason) in sorted(self.skipped.items())]
        return lines + self.notes


class ProvisioningError(RuntimeError):
    """A core resource could not be created in the embedded AWS."""


Handler = Callable[["Provisioner", dict[str, Any]], Attributes]

#: Terraform argument of aws_sqs_queue -> SQS queue attribute
_SQS_ATTRIBUTES = {
    "visibility_timeout_seconds": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
    "receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds",
    "max_message_size": "MaximumMessageSize",
    "redrive_policy": "RedrivePolicy",
    "redrive_allow_policy": "RedriveAllowPolicy",
    "policy": "Policy",
    "fifo_queue": "FifoQueue",
    "content_based_deduplication": "ContentBasedDeduplication",
}


class Provisioner:
    """Creates a stack's resources in moto and evaluates its outputs.

    ``remote_outputs`` holds the outputs of stacks provisioned before (cross-stack references read them).
    """

    def __init__(
        self, clients: ClientSource, region: str, account_id: str, endpoint_url: str, partition: str = "aws"
    ) -> None:
        self._clients = clients
        self.region = region
        self.account_id = account_id
        self.endpoint_url = endpoint_url.rstrip("/")
        self.partition = partition
        self.remote_outputs: dict[str, Any] = {}

    # -- public -----------------------------------------------------------------------------------------

    def provision(self, stack: StackDocument) -> ProvisionResult:
        """Create every supported resource of ``stack``, then evaluate its outputs."""
        result = ProvisionResult()
        lookup = self._lookup(stack, result)
        for address in creation_order(stack.resources):
            kind = address.split(".", 1)[0]
            config = stack.resources[address]
            handler = HANDLERS.get(kind)
            if handler is None:
                result.attributes[address] = _echo(config, address)
                result.skip(kind, SKIP_REASONS.get(kind, "not needed locally"))
                continue
            try:
                resolved = resolve(config, lookup)
            except UnresolvedReferenceError as error:
                if kind in CORE_TYPES:
                    raise ProvisioningError(f"{stack.name}: cannot create {address}: {error}") from error
                result.attributes[address] = _echo(config, address)
                result.notes.append(f"skipped {address}: {error}")
                continue
            try:
                attributes = handler(self, resolved)
            except Exception as error:  # boto/moto errors of any service land here; core ones stop the run
                if kind in CORE_TYPES:
                    raise ProvisioningError(f"{stack.name}: creating {address} failed: {error}") from error
                result.attributes[address] = _echo(resolved, address)
                result.notes.append(f"skipped {address}: moto refused it ({_first_line(error)})")
                continue
            result.attributes[address] = {**_echo(resolved, address), **attributes}
            result.created.append(address)
        for name, expression in stack.outputs.items():
            try:
                result.outputs[name] = resolve(expression, lookup)
            except UnresolvedReferenceError as error:
                result.notes.append(f"output {name} left out: {error}")
        log.info("provisioned %s: %d resources created", stack.name, len(result.created))
        return result

    # -- references -------------------------------------------------------------------------------------

    def _lookup(self, stack: StackDocument, result: ProvisionResult) -> Callable[[str], object]:
        def lookup(reference: str) -> object:
            parts = reference.split(".")
            address = resource_address(reference)
            if address is not None:
                attributes = result.attributes.get(address)
                if attributes is None or len(parts) < 3:
                    raise UnresolvedReferenceError(f"{reference} refers to nothing created locally")
                return _attribute(attributes, parts[2:], reference)
            if parts[0] == "var" and len(parts) == 2 and stack.variables.get(parts[1]) is not None:
                return stack.variables[parts[1]]
            if parts[0] == "data" and len(parts) >= 4:
                return self._data(stack, parts, reference)
            raise UnresolvedReferenceError(f"{reference} cannot be evaluated locally")

        return lookup

    def _data(self, stack: StackDocument, parts: list[str], reference: str) -> object:
        kind, attribute = parts[1], parts[3]
        if kind == "terraform_remote_state" and attribute == "outputs" and len(parts) >= 5:
            if parts[4] in self.remote_outputs:
                return self.remote_outputs[parts[4]]
            raise UnresolvedReferenceError(f"{reference}: no earlier stack outputs {parts[4]}")
        builtin: dict[str, dict[str, object]] = {
            "aws_caller_identity": {"account_id": self.account_id, "id": self.account_id},
            "aws_region": {"name": self.region, "region": self.region, "id": self.region},
            "aws_partition": {"partition": self.partition, "id": self.partition, "dns_suffix": "amazonaws.com"},
        }
        if kind in builtin and attribute in builtin[kind]:
            return builtin[kind][attribute]
        if kind == "aws_iam_policy_document" and attribute in ("json", "minified_json"):
            config = stack.data.get(".".join(parts[:3]), {})
            return json.dumps(policy_document(resolve(config, self._lookup(stack, ProvisionResult()))))
        raise UnresolvedReferenceError(f"{reference} cannot be evaluated locally")

    # -- handlers ---------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self._clients.client(service)


def _attribute(attributes: Attributes, path: list[str], reference: str) -> object:
    value: object = attributes
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise UnresolvedReferenceError(f"{reference}: attribute {part!r} unknown locally")
    return value


def _echo(config: Mapping[str, Any], address: str) -> Attributes:
    """Arguments double as attributes (``name``, ``stage_name``...), as Terraform reports them too.

    Resources local mode does not create still get an ``id``, so what merely depends on them can be created.
    """
    attributes = dict(config)
    for key in ("name", "bucket", "stage_name"):
        if key in config and "id" not in attributes:
            attributes["id"] = config[key]
    attributes.setdefault("id", f"local-{address.replace('.', '-')}")
    # a placeholder that says where it comes from; only resources local mode skips ever carry it
    attributes.setdefault("arn", f"arn:aws:local:::{address}")
    return attributes


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:160] if str(error) else type(error).__name__


def policy_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """The IAM JSON of an ``aws_iam_policy_document`` data source (statements, principals, conditions)."""
    statements = []
    for statement in config.get("statement", []):
        rendered: dict[str, Any] = {"Effect": statement.get("effect", "Allow")}
        if "sid" in statement:
            rendered["Sid"] = statement["sid"]
        for key, name in (("actions", "Action"), ("resources", "Resource"), ("not_actions", "NotAction")):
            if key in statement:
                rendered[name] = statement[key]
        principals: dict[str, list[str]] = {}
        for principal in statement.get("principals", []):
            principals.setdefault(principal["type"], []).extend(principal.get("identifiers", []))
        if principals:
            rendered["Principal"] = principals
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in statement.get("condition", []):
            conditions.setdefault(condition["test"], {})[condition["variable"]] = condition.get("values", [])
        if conditions:
            rendered["Condition"] = conditions
        statements.append(rendered)
    return {"Version": "2012-10-17", "Statement": statements}


# -- one handler per resource type: arguments already resolved; returns the attributes Terraform would -----


def _s3_bucket(p: Provisioner, config: dict[str, Any]) -> Attributes:
    s3 = p.client("s3")
    name = config["bucket"]
    arguments: dict[str, Any] = {"Bucket": name}
    if p.region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": p.region}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(**arguments)
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:{p.partition}:s3:::{name}",
        "bucket_domain_name": f"{name}.s3.amazonaws.com",
        "bucket_regional_domain_name": f"{name}.s3.{p.region}.amazonaws.com",
    }


def _s3_bucket_versioning(p: Provisioner, config: dict[str, Any]) -> Attributes:
    status = config.get("versioning_configuration", {}).get("status", "Enabled")
    p.client("s3").put_bucket_versioning(Bucket=config["bucket"], VersioningConfiguration={"Status": status})
    return {"id": config["bucket"]}


def _s3_bucket_notification(p: Provisioner, config: dict[str, Any]) -> Attributes:
    queues = []
    for queue in config.get("queue", []):
        rules = [
            {"Name": name, "Value": queue[key]}
            for key, name in (("filter_prefix", "prefix"), ("filter_suffix", "suffix"))
            if queue.get(key)
        ]
        entry: dict[str, Any] = {"QueueArn": queue["queue_arn"], "Events": queue["events"]}
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    notification: dict[str, Any] = {"QueueConfigurations": queues}
    if config.get("eventbridge"):
        notification["EventBridgeConfiguration"] = {}
    p.client("s3").put_bucket_notification_configuration(
        Bucket=config["bucket"], NotificationConfiguration=notification
    )
    return {"id": config["bucket"]}


def _sqs_queue(p: Provisioner, config: dict[str, Any]) -> Attributes:
    sqs = p.client("sqs")
    attributes = {
        _SQS_ATTRIBUTES[key]: (json.dumps(value) if isinstance(value, dict) else _sqs_value(value))
        for key, value in config.items()
        if key in _SQS_ATTRIBUTES
    }
    url = sqs.create_queue(QueueName=config["name"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"id": url, "url": url, "arn": arn, "name": config["name"]}


def _sqs_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _sqs_queue_attribute(attribute: str, argument: str) -> Handler:
    def handler(p: Provisioner, config: dict[str, Any]) -> Attributes:
        value = config[argument]
        text = value if isinstance(value, str) else json.dumps(value)
        p.client("sqs").set_queue_attributes(QueueUrl=config["queue_url"], Attributes={attribute: text})
        return {"id": config["queue_url"]}

    return handler


def _dynamodb_table(p: Provisioner, config: dict[str, Any]) -> Attributes:
    dynamodb = p.client("dynamodb")
    name = config["name"]

    def keys(block: Mapping[str, Any]) -> list[dict[str, str]]:
        if block.get("key_schema"):
            return [{"AttributeName": k["attribute_name"], "KeyType": k["key_type"]} for k in block["key_schema"]]
        schema = [{"AttributeName": block["hash_key"], "KeyType": "HASH"}]
        if block.get("range_key"):
            schema.append({"AttributeName": block["range_key"], "KeyType": "RANGE"})
        return schema

    provisioned = config.get("billing_mode", "PROVISIONED") == "PROVISIONED"
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys(config),
        "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in config["attribute"]],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
    }
    throughput = {
        "ReadCapacityUnits": int(config.get("read_capacity", 5)),
        "WriteCapacityUnits": int(config.get("write_capacity", 5)),
    }
    if provisioned:
        arguments["ProvisionedThroughput"] = throughput
    indexes = []
    for index in config.get("global_secondary_index", []):
        projection: dict[str, Any] = {"ProjectionType": index.get("projection_type", "ALL")}
        if index.get("non_key_attributes"):
            projection["NonKeyAttributes"] = index["non_key_attributes"]
        rendered: dict[str, Any] = {"IndexName": index["name"], "KeySchema": keys(index), "Projection": projection}
        if provisioned:
            rendered["ProvisionedThroughput"] = throughput
        indexes.append(rendered)
    if indexes:
        arguments["GlobalSecondaryIndexes"] = indexes
    stream = config.get("stream_enabled")
    if stream:
        arguments["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": config.get("stream_view_type", "NEW_AND_OLD_IMAGES"),
        }
    try:
        description = dynamodb.create_table(**arguments)["TableDescription"]
    except dynamodb.exceptions.ResourceInUseException:
        description = dynamodb.describe_table(TableName=name)["Table"]
    return {
        "id": name,
        "name": name,
        "arn": description["TableArn"],
        "stream_arn": description.get("LatestStreamArn", ""),
    }


def _event_bus(p: Provisioner, config: dict[str, Any]) -> Attributes:
    events = p.client("events")
    name = config["name"]
    try:
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    except events.exceptions.ResourceAlreadyExistsException:
        arn = events.describe_event_bus(Name=name)["Arn"]
    return {"id": name, "name": name, "arn": arn}


def _event_archive(p: Provisioner, config: dict[str, Any]) -> Attributes:
    events = p.client("events")
    arguments: dict[str, Any] = {"ArchiveName": config["name"], "EventSourceArn": config["event_source_arn"]}
    if "retention_days" in config:
        arguments["RetentionDays"] = int(config["retention_days"])
    if config.get("event_pattern"):
        arguments["EventPattern"] = config["event_pattern"]
    try:
        arn = events.create_archive(**arguments)["ArchiveArn"]
    except events.exceptions.ResourceAlreadyExistsException:
        arn = events.describe_archive(ArchiveName=config["name"])["ArchiveArn"]
    return {"id": config["name"], "name": config["name"], "arn": arn}


def _rest_api(p: Provisioner, config: dict[str, Any]) -> Attributes:
    apigateway = p.client("apigateway")
    arguments: dict[str, Any] = {"name": config["name"]}
    if config.get("description"):
        arguments["description"] = config["description"]
    types = config.get("endpoint_configuration", {})
    if isinstance(types, dict) and types.get("types"):
        arguments["endpointConfiguration"] = {"types": types["types"]}
    existing = [api for api in apigateway.get_rest_apis(limit=500)["items"] if api["name"] == config["name"]]
    api = existing[0] if existing else apigateway.create_rest_api(**arguments)
    root = api.get("rootResourceId") or next(
        item["id"] for item in apigateway.get_resources(restApiId=api["id"])["items"] if item["path"] == "/"
    )
    return {
        "id": api["id"],
        "name": config["name"],
        "root_resource_id": root,
        "arn": f"arn:{p.partition}:apigateway:{p.region}::/restapis/{api['id']}",
        "execution_arn": f"arn:{p.partition}:execute-api:{p.region}:{p.account_id}:{api['id']}",
    }


def _api_deployment(p: Provisioner, config: dict[str, Any]) -> Attributes:
    # nothing to call: local mode does not recreate the API's methods, and a stage only needs an id
    return {"id": f"local-deployment-{config['rest_api_id']}"}


def _api_stage(p: Provisioner, config: dict[str, Any]) -> Attributes:
    api_id, stage = config["rest_api_id"], config["stage_name"]
    return {
        "id": f"ags-{api_id}-{stage}",
        "stage_name": stage,
        # moto_server answers a stage's calls under this path
        "invoke_url": f"{p.endpoint_url}/restapis/{api_id}/{stage}/_user_request_",
        "execution_arn": f"arn:{p.partition}:execute-api:{p.region}:{p.account_id}:{api_id}/{stage}",
        "arn": f"arn:{p.partition}:apigateway:{p.region}::/restapis/{api_id}/stages/{stage}",
    }


def _iam_role(p: Provisioner, config: dict[str, Any]) -> Attributes:
    iam = p.client("iam")
    name = config["name"]
    policy = config.get("assume_role_policy", "{}")
    try:
        role = iam.create_role(
            RoleName=name,
            Path=config.get("path", "/"),
            AssumeRolePolicyDocument=policy if isinstance(policy, str) else json.dumps(policy),
        )["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=name)["Role"]
    return {"id": name, "name": name, "arn": role["Arn"], "unique_id": role["RoleId"]}


def _log_group(p: Provisioner, config: dict[str, Any]) -> Attributes:
    logs = p.client("logs")
    name = config["name"]
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)
    return {"id": name, "name": name, "arn": f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{name}"}


def _kms_key(p: Provisioner, config: dict[str, Any]) -> Attributes:
    key = p.client("kms").create_key(Description=config.get("description", ""))["KeyMetadata"]
    return {"id": key["KeyId"], "key_id": key["KeyId"], "arn": key["Arn"]}


def _kms_alias(p: Provisioner, config: dict[str, Any]) -> Attributes:
    kms = p.client("kms")
    try:
        kms.create_alias(AliasName=config["name"], TargetKeyId=config["target_key_id"])
    except kms.exceptions.AlreadyExistsException:
        kms.update_alias(AliasName=config["name"], TargetKeyId=config["target_key_id"])
    return {"id": config["name"], "arn": f"arn:{p.partition}:kms:{p.region}:{p.account_id}:{config['name']}"}


HANDLERS: dict[str, Handler] = {
    "aws_s3_bucket": _s3_bucket,
    "aws_s3_bucket_versioning": _s3_bucket_versioning,
    "aws_s3_bucket_notification": _s3_bucket_notification,
    "aws_sqs_queue": _sqs_queue,
    "aws_sqs_queue_redrive_policy": _sqs_queue_attribute("RedrivePolicy", "redrive_policy"),
    "aws_sqs_queue_policy": _sqs_queue_attribute("Policy", "policy"),
    "aws_dynamodb_table": _dynamodb_table,
    "aws_cloudwatch_event_bus": _event_bus,
    "aws_cloudwatch_event_archive": _event_archive,
    "aws_api_gateway_rest_api": _rest_api,
    "aws_api_gateway_deployment": _api_deployment,
    "aws_api_gateway_stage": _api_stage,
    "aws_iam_role": _iam_role,
    "aws_cloudwatch_log_group": _log_group,
    "aws_kms_key": _kms_key,
    "aws_kms_alias": _kms_alias,
}

#: without these the portal or the generator cannot work: failing to create one stops local mode
CORE_TYPES = frozenset(
    {"aws_s3_bucket", "aws_sqs_queue", "aws_dynamodb_table", "aws_cloudwatch_event_bus", "aws_api_gateway_rest_api"}
)

SKIP_REASONS = {
    "aws_schemas_registry": "moto has no EventBridge Schemas service (the portal keeps schemas locally)",
    "aws_schemas_schema": "moto has no EventBridge Schemas service",
    "aws_lambda_function": "the generator runs as a local worker instead of a container-image Lambda",
    "aws_lambda_event_source_mapping": "the local worker polls the queue itself",
    "aws_lambda_permission": "no Lambda locally",
    "aws_ecr_repository": "no container image is built locally",
    "aws_ecr_lifecycle_policy": "no container image is built locally",
}
