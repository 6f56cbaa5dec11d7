"""Narrow patches to the installed moto where it answers differently from AWS and Terraform stalls or fails.

The local launcher calls :func:`apply` in the moto_server process before moto's server ``main``; the tests call
it before ``mock_aws``. Each patch is one small function naming the AWS behaviour it restores (and the upstream
moto issue, if any). Each first checks that the moto attribute it replaces still exists and has the shape it
expects: after a moto upgrade a patch that no longer fits raises :class:`MotoFixError` (and
``tests/functional/test_moto_fixes.py`` fails) instead of silently doing nothing. Drop a patch when the pinned
moto behaves as AWS does without it (its test then passes without the patch).

Why patches rather than a fork or a hand-written twin: moto is the embedded AWS and stays as released; each
patch below wraps or replaces one moto function and leaves moto's validation in place.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

#: set on moto's S3 model class once :func:`apply` ran, so a second call changes nothing
_APPLIED_MARKER = "_broker_moto_fixes_applied"


class MotoFixError(RuntimeError):
    """The installed moto no longer has what a patch replaces: review the patch against the new moto."""


def _require(owner: Any, name: str, parameters: tuple[str, ...] = ()) -> Any:
    """``owner.name`` (a function or staticmethod taking ``parameters``, in order), or raise MotoFixError."""
    if name not in vars(owner):
        raise MotoFixError(f"moto changed: {owner.__module__}.{owner.__qualname__}.{name} is gone")
    attribute = vars(owner)[name]
    function = attribute.__func__ if isinstance(attribute, staticmethod | classmethod) else attribute
    if parameters:
        found = tuple(param for param in inspect.signature(function).parameters if param != "self")
        if found[: len(parameters)] != parameters:
            raise MotoFixError(
                f"moto changed: {owner.__qualname__}.{name}{found} no longer takes {parameters}; review the patch"
            )
    return attribute


# --- S3 PutBucketLogging: any policy grammar, not only {"Principal": {"Service": ...}} ---------------------------

LOGGING_SERVICE_PRINCIPAL = "logging.s3.amazonaws.com"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_includes_logging_service(principal: Any) -> bool:
    """IAM principal grammar: ``"*"``, or a map whose ``AWS``/``Service`` value is a string or a list."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS", [])):
        return True
    return LOGGING_SERVICE_PRINCIPAL in _as_list(principal.get("Service", []))


def logging_target_policy_grants(target_bucket: Any, target_prefix: str | None) -> bool:
    """Whether the target bucket's policy lets the S3 logging service put objects (for PutBucketLogging).

    Restores: AWS accepts a target bucket whose policy uses any valid IAM grammar. moto 5.2.5's check reads
    ``stmt["Principal"]["Service"]`` and answers 500 (AttributeError: 'str' object has no attribute 'get') when
    a statement has ``"Principal": "*"`` (e.g. the usual DenyInsecureTransport statement); the AWS provider then
    retries the 500 for minutes. Also reads ``Statement``, ``Action`` and ``Resource`` as a string or a list,
    and an ``Action`` wildcard (``s3:*``, ``s3:Put*``). No upstream issue found.
    """
    policy = target_bucket.policy
    if not policy:
        return False
    document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    bucket_arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
    accepted_resources = {f"{bucket_arn}/{target_prefix or ''}*", f"{bucket_arn}/*", bucket_arn}
    for statement in _as_list(document.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if not _principal_includes_logging_service(statement.get("Principal")):
            continue
        actions = [str(action).lower() for action in _as_list(statement.get("Action", []))]
        if not any(fnmatch.fnmatchcase("s3:putobject", action) for action in actions):
            continue
        if not accepted_resources.intersection(_as_list(statement.get("Resource", []))):
            continue
        return True
    return False


def _patch_logging_policy_check() -> None:
    from moto.s3.models import FakeBucket  # noqa: PLC0415  (moto loads only where the patches apply)

    current = _require(FakeBucket, "_log_permissions_enabled_policy", ("target_bucket", "target_prefix"))
    if not isinstance(current, staticmethod):
        raise MotoFixError("moto changed: FakeBucket._log_permissions_enabled_policy is no longer a staticmethod")
    FakeBucket._log_permissions_enabled_policy = staticmethod(logging_target_policy_grants)  # type: ignore[method-assign]


# --- Bucket policies: a statement applies only when its Condition holds ------------------------------------------


def _condition_is_unevaluable(statement: dict[str, Any]) -> bool:
    """Whether the statement's Condition uses an operator moto ignores (it treats those as holding)."""
    from moto.iam.policy_conditions import CONDITION_OPERATIONS  # noqa: PLC0415

    condition = statement.get("Condition")
    return isinstance(condition, dict) and any(operator not in CONDITION_OPERATIONS for operator in condition)


def _patch_statement_conditions() -> None:
    """Restores: a policy statement whose Condition does not hold does not apply (neither allows nor denies).

    moto 5.2.5 evaluates only ``StringEquals`` and treats every other operator (``Bool``, ``IpAddress``, ...) as
    holding, so the usual ``{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool":
    {"aws:SecureTransport": "false"}}}`` denies every object request: HeadObject/GetObject/PutObject answer 403
    (Terraform's S3 backend cannot read or write its state, a bucket notification's test object cannot be
    written). On AWS the SDKs talk HTTPS, so that statement never applies to them. A Deny whose condition moto
    cannot evaluate is therefore not applied; a statement whose evaluable condition fails is neutral, not a
    denial (moto answered DENIED even for an Allow statement). No upstream issue found.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult  # noqa: PLC0415
    from moto.iam.policy_conditions import CONDITION_OPERATIONS  # noqa: PLC0415, F401  (guard: the operator table)

    original = _require(
        IAMPolicyStatement,
        "is_action_permitted",
        ("action", "resource", "principal", "incoming_condition_values"),
    )
    _require(IAMPolicyStatement, "_check_conditions", ("incoming_condition_values",))

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        result = original(self, action, resource, principal, incoming_condition_values)
        statement = self._statement
        if result != PermissionResult.DENIED or not isinstance(statement, dict) or not statement.get("Condition"):
            return result
        if not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        if statement.get("Effect") == "Deny" and _condition_is_unevaluable(statement):
            return PermissionResult.NEUTRAL
        return result

    is_action_permitted.__doc__ = _patch_statement_conditions.__doc__
    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


# --- SQS GetQueueAttributes: RedrivePolicy as AWS writes it ---------------------------------------------------------


def _patch_redrive_policy_json() -> None:
    """Restores: GetQueueAttributes returns ``RedrivePolicy`` as compact JSON (``{"deadLetterTargetArn":"...",``
    ``"maxReceiveCount":3}``), as AWS does.

    moto 5.2.5 returns ``json.dumps`` with spaces; the AWS provider keeps that string in the state and compares it
    with its normalized (compact) configuration, so every plan after apply shows the queue's ``redrive_policy``
    as changed ("whitespace changes") and every apply rewrites it. No upstream issue found.
    """
    from moto.sqs.models import Queue  # noqa: PLC0415

    original = _require(Queue, "attributes")
    if not isinstance(original, property) or original.fget is None:
        raise MotoFixError("moto changed: sqs Queue.attributes is no longer a property")
    read = original.fget

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = read(self)
        if isinstance(result.get("RedrivePolicy"), str) and self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    attributes.__doc__ = _patch_redrive_policy_json.__doc__
    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]


# --- Lambda GetFunction(Configuration): LoggingConfig and ImageConfigResponse as AWS answers them -------------------

_LOGGING_CONFIG = "_broker_logging_config"
_HAS_IMAGE_CONFIG = "_broker_has_image_config"


def _logging_config_as_aws_answers(function_name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The ``LoggingConfig`` AWS answers: what was given, with AWS's defaults for what was not."""
    config: dict[str, Any] = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(given or {})}
    if config["LogFormat"] == "JSON":
        config.setdefault("ApplicationLogLevel", "INFO")
        config.setdefault("SystemLogLevel", "INFO")
    return config


def _patch_lambda_configuration() -> None:
    """Restores: a function's configuration carries its ``LoggingConfig`` (AWS's defaults when none was given) and
    has no ``ImageConfigResponse`` unless an ``ImageConfig`` was given, as on AWS.

    moto 5.2.5 drops ``LoggingConfig`` and answers an empty ``ImageConfig`` for every image function, so after
    apply every plan shows ``logging_config`` to add and ``image_config`` to remove on ``aws_lambda_function``,
    and every apply updates the function again. No upstream issue found.
    """
    from moto.awslambda.models import LambdaFunction  # noqa: PLC0415

    original_init = _require(LambdaFunction, "__init__", ("account_id", "spec", "region", "version"))
    original_update = _require(LambdaFunction, "update_configuration", ("config_updates",))
    original_configuration = _require(LambdaFunction, "get_configuration", ("on_create",))

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        original_init(self, account_id, spec, region, version)
        setattr(self, _LOGGING_CONFIG, spec.get("LoggingConfig"))
        setattr(self, _HAS_IMAGE_CONFIG, bool(spec.get("ImageConfig")))

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            setattr(self, _LOGGING_CONFIG, config_updates["LoggingConfig"])
        result: dict[str, Any] = original_update(self, config_updates)  # answers get_configuration(), patched
        return result

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = original_configuration(self, on_create)
        config["LoggingConfig"] = _logging_config_as_aws_answers(
            self.function_name, getattr(self, _LOGGING_CONFIG, None)
        )
        if not getattr(self, _HAS_IMAGE_CONFIG, True):
            config.pop("ImageConfigResponse", None)
        return config

    for replacement in (__init__, update_configuration, get_configuration):
        replacement.__doc__ = _patch_lambda_configuration.__doc__
    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


# --- S3 GetBucketLifecycleConfiguration: the rules as they were put ------------------------------------------------

_LIFECYCLE_AS_PUT = "_broker_lifecycle_as_put"
_TRANSITION_MINIMUM_SIZE = "_broker_transition_default_minimum_object_size"
TRANSITION_MINIMUM_SIZE_HEADER = "x-amz-transition-default-minimum-object-size"
TRANSITION_MINIMUM_SIZE_DEFAULT = "all_storage_classes_128K"


@functools.cache
def _lifecycle_rule_shape() -> Any:
    import botocore.session  # noqa: PLC0415

    operation = (
        botocore.session.get_session().get_service_model("s3").operation_model("GetBucketLifecycleConfiguration")
    )
    return operation.output_shape.members["Rules"].member


def _typed(shape: Any, value: Any) -> Any:
    """An element parsed by xmltodict (strings, None for empty, a dict for one flattened item) as ``shape`` types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return {}
        typed = {}
        for name, member in shape.members.items():
            xml_name = member.serialization.get("name", name)
            if xml_name in value:
                typed[name] = _typed(member, value[xml_name])
        return typed
    if kind == "list":
        return [_typed(shape.member, item) for item in (value if isinstance(value, list) else [value])]
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return str(value).lower() == "true"
    return "" if value is None else value


def _patch_lifecycle_as_put() -> None:
    """Restores: GetBucketLifecycleConfiguration answers the rules as they were put, and the
    ``x-amz-transition-default-minimum-object-size`` that was put, as AWS does.

    The AWS provider waits after PutBucketLifecycleConfiguration until 10 reads in a row (5 s apart) equal what
    it put (55 s by design, on AWS too), and gives up after 3 minutes. moto 5.2.5 drops ``ObjectSizeGreaterThan``
    / ``ObjectSizeLessThan`` (in ``Filter`` and in ``And``, where the provider always sends them),
    ``NewerNoncurrentVersions`` of ``NoncurrentVersionExpiration``, and answers ``all_storage_classes_128K``
    whatever was put, so such configurations stay "Still creating..." and fail after 3 minutes. Related upstream:
    getmoto/moto#9708 (closed) and #9729 (open; its ``filter {}`` + ``abort_incomplete_multipart_upload`` case
    completes in 55 s on moto 5.2.5 with provider 5.100.0 already). moto still validates the rules.
    """
    from moto.s3 import responses as s3_responses  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    original_set = _require(FakeBucket, "set_lifecycle", ("rules",))
    original_delete = _require(FakeBucket, "delete_lifecycle")
    original_put = _require(s3_responses.S3Response, "_bucket_response_put", ("request", "bucket_name", "querystring"))
    original_get = _require(s3_responses.S3Response, "get_bucket_lifecycle")
    action_result = getattr(s3_responses, "ActionResult", None)
    if action_result is None:
        raise MotoFixError("moto changed: moto.s3.responses.ActionResult is gone")
    _lifecycle_rule_shape()  # fails here, not at the first request, if botocore's model moved

    def set_lifecycle(self: Any, rules: list[dict[str, Any]]) -> None:
        as_put = copy.deepcopy(rules)
        original_set(self, rules)
        setattr(self, _LIFECYCLE_AS_PUT, as_put)

    def delete_lifecycle(self: Any) -> None:
        original_delete(self)
        setattr(self, _LIFECYCLE_AS_PUT, None)

    def bucket_response_put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        response = original_put(self, request, bucket_name, querystring)
        if "lifecycle" in querystring:
            size = request.headers.get(TRANSITION_MINIMUM_SIZE_HEADER) or TRANSITION_MINIMUM_SIZE_DEFAULT
            setattr(self.backend.get_bucket(bucket_name), _TRANSITION_MINIMUM_SIZE, size)
        return response

    def get_bucket_lifecycle(self: Any) -> Any:
        bucket = self.backend.get_bucket(self.bucket_name)
        as_put = getattr(bucket, _LIFECYCLE_AS_PUT, None)
        if not bucket.rules or not as_put:
            return original_get(self)  # moto's answer, NoSuchLifecycleConfiguration included
        self.data["Action"] = "GetBucketLifecycleConfiguration"
        result = {
            "Rules": [_typed(_lifecycle_rule_shape(), rule) for rule in as_put],
            "TransitionDefaultMinimumObjectSize": getattr(
                bucket, _TRANSITION_MINIMUM_SIZE, TRANSITION_MINIMUM_SIZE_DEFAULT
            ),
        }
        return self.serialized(action_result(result))

    for replacement in (set_lifecycle, delete_lifecycle, bucket_response_put, get_bucket_lifecycle):
        replacement.__doc__ = _patch_lifecycle_as_put.__doc__
    FakeBucket.set_lifecycle = set_lifecycle  # type: ignore[method-assign]
    FakeBucket.delete_lifecycle = delete_lifecycle  # type: ignore[method-assign]
    s3_responses.S3Response._bucket_response_put = bucket_response_put  # type: ignore[method-assign]
    s3_responses.S3Response.get_bucket_lifecycle = get_bucket_lifecycle  # type: ignore[method-assign]


#: every patch, in the order applied
# --- EventBridge PutEvents: a target moto cannot deliver to never fails the put -----------------------------


def _patch_undeliverable_targets() -> None:
    """AWS accepts ``PutEvents`` and delivers to each rule's targets asynchronously: a target that cannot be
    reached is retried and then dead-lettered, and the producer never sees it. moto delivers synchronously and
    raises ``NotImplementedError`` for targets it cannot run (a Lambda function), so one subscription of a
    Lambda made every matching ``PutEvents`` answer 500 and the other subscriptions lost the event. Targets of
    a kind moto cannot deliver to are skipped (logged); every other target gets the event as before.
    """
    from moto.events.models import Rule  # noqa: PLC0415

    original = _require(Rule, "send_to_targets", ("original_event", "transform_input"))

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        deliverable = [target for target in self.targets if ":lambda:" not in target["Arn"]]
        skipped = [target["Arn"] for target in self.targets if ":lambda:" in target["Arn"]]
        if skipped and self.event_pattern.matches_event(original_event):
            logger.info("not delivered (moto cannot run Lambda functions): %s", ", ".join(skipped))
        kept, self.targets = self.targets, deliverable
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = kept

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


PATCHES: tuple[Callable[[], None], ...] = (
    _patch_logging_policy_check,
    _patch_statement_conditions,
    _patch_redrive_policy_json,
    _patch_lambda_configuration,
    _patch_lifecycle_as_put,
    _patch_undeliverable_targets,
)


def apply() -> None:
    """Apply every patch to the moto imported in this process; a second call does nothing.

    Raises MotoFixError when the installed moto no longer has what a patch replaces.
    """
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    if getattr(FakeBucket, _APPLIED_MARKER, False):
        return
    for patch in PATCHES:
        patch()
        logger.debug("moto fix applied: %s", patch.__name__)
    setattr(FakeBucket, _APPLIED_MARKER, True)
