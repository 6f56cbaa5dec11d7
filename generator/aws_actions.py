"""The few AWS calls the generator makes around ``terraform apply`` (typed wrapper, clients injected).

- the producers' API is shared: the ``/<event_type>`` parent resource is created once, outside any
  producer's state, so destroying one version never removes the path of another;
- a new API Gateway deployment of the shared stage is created after each HTTPS producer change,
  because a deployment snapshots all methods: no producer stack owns the stage. Deployments of the
  stage are serialized within a process (parallel workers) and retried with backoff across processes:
  API Gateway refuses one while another producer's method is half-built (``BadRequestException``), or
  while another deployment is being made (``ConflictException``, ``TooManyRequestsException``);
- an HTTPS consumer's EventBridge connection is created by Terraform with placeholder credentials,
  then updated here from Secrets Manager, so secrets never appear in a file or in Terraform state;
  its rule, created disabled, is enabled here once the connection holds the real credential;
- a target queue of the broker's account is checked before apply: EventBridge cannot send to a queue
  on the AWS managed key ``alias/aws/sqs``, nor with a customer managed key that does not grant it;
- a target queue's policy may hold other statements and is shared by every subscription on the queue,
  so it is changed by a read-modify-write of the broker's one statement, under a lock (an item in the
  catalog, ``broker_contract.dynamodb_store.QueuePolicyLocks``: SQS has no conditional write), never
  replaced as a whole.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.arns import EVENTS_PRINCIPAL, arn_account
from broker_contract.dynamodb_store import QueuePolicyLocks
from broker_contract.models import ApiKeyAuth, BasicAuth, HttpsAuth

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]

#: API Gateway errors after which creating a stage deployment succeeds when tried again a little later
RETRIED_DEPLOYMENT_ERRORS = ("BadRequestException", "ConflictException", "TooManyRequestsException")
DEPLOYMENT_ATTEMPTS = 6


class SecretFormatError(ValueError):
    """The consumer's secret does not hold what its auth type needs (the owner must fix the secret)."""


class TargetQueueUnusable(RuntimeError):
    """EventBridge could never deliver to the target queue as it is (its encryption); the owner must change it."""


class QueuePolicyBusy(RuntimeError):
    """Another generator run held the queue's policy lock for longer than this run would wait."""


#: the AWS managed SQS key: its policy cannot be changed, and it grants no AWS service
AWS_MANAGED_SQS_KEY = "alias/aws/sqs"
#: what EventBridge needs on a queue's customer managed key to send to the queue
EVENTS_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
#: a lock older than this is from a dead run and may be taken over
QUEUE_LOCK_SECONDS = 120
QUEUE_LOCK_WAIT_SECONDS = 60.0


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def key_policy_grants_events(policy: dict[str, Any]) -> bool:
    """True when the key policy allows ``events.amazonaws.com`` both ``kms:GenerateDataKey`` and ``kms:Decrypt``.

    Wildcards (``kms:*``, ``kms:GenerateDataKey*``) count; an explicit Deny of either action to the
    service wins. Conditions are the key owner's business and are not evaluated.
    """

    def for_events(statement: dict[str, Any]) -> bool:
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        return EVENTS_PRINCIPAL in _listed(services)

    def covers(statement: dict[str, Any], action: str) -> bool:
        return any(
            fnmatchcase(action.lower(), str(pattern).lower()) for pattern in _listed(statement.get("Action", []))
        )

    statements = [s for s in _listed(policy.get("Statement", [])) if isinstance(s, dict) and for_events(s)]
    for action in EVENTS_KEY_ACTIONS:
        allowed = any(s.get("Effect") == "Allow" and covers(s, action) for s in statements)
        if not allowed or any(s.get("Effect") == "Deny" and covers(s, action) for s in statements):
            return False
    return True


def key_statement_for_events() -> dict[str, Any]:
    """The key-policy statement a queue's customer managed key needs so EventBridge can send to the queue."""
    return {
        "Sid": "EventBridgeSendsToEncryptedQueues",
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": list(EVENTS_KEY_ACTIONS),
        "Resource": "*",
    }


def connection_auth_parameters(auth: HttpsAuth, secret_string: str) -> tuple[str, dict[str, Any]]:
    """``(AuthorizationType, AuthParameters)`` of ``events.update_connection`` from the secret's value.

    API_KEY secrets hold the key itself (or JSON ``{"api_key": ...}``); BASIC secrets hold JSON
    ``{"username", "password"}``; OAuth secrets hold JSON ``{"client_id", "client_secret"}``.
    """
    if isinstance(auth, ApiKeyAuth):
        value = secret_string
        parsed = _json_object(secret_string, required=False)
        if parsed is not None:
            value = _field(parsed, "api_key", auth.secret_arn)
        if not value:
            raise SecretFormatError(f"secret {auth.secret_arn} is empty")
        return "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": auth.header_name, "ApiKeyValue": value}}
    parsed = _json_object(secret_string, required=True)
    if parsed is None:
        raise SecretFormatError("the secret must hold a JSON object")
    if isinstance(auth, BasicAuth):
        return "BASIC", {
            "BasicAuthParameters": {
                "Username": _field(parsed, "username", auth.secret_arn),
                "Password": _field(parsed, "password", auth.secret_arn),
            }
        }
    body = [{"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]
    if auth.scopes:
        body.append({"Key": "scope", "Value": " ".join(auth.scopes), "IsValueSecret": False})
    return "OAUTH_CLIENT_CREDENTIALS", {
        "OAuthParameters": {
            "ClientParameters": {
                "ClientID": _field(parsed, "client_id", auth.secret_arn),
                "ClientSecret": _field(parsed, "client_secret", auth.secret_arn),
            },
            "AuthorizationEndpoint": str(auth.token_url),
            "HttpMethod": "POST",
            "OAuthHttpParameters": {"BodyParameters": body},
        }
    }


def _json_object(text: str, *, required: bool) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    if required:
        raise SecretFormatError("the secret must hold a JSON object")
    return None


def _field(secret: dict[str, Any], name: str, secret_arn: str) -> str:
    value = secret.get(name)
    if not isinstance(value, str) or not value:
        raise SecretFormatError(f"secret {secret_arn} has no string field {name!r}")
    return value


class AwsPostApplyActions:
    """API Gateway, EventBridge and Secrets Manager calls of the generator.

    ``client_factory(service_name)`` builds a boto3 client; it is called on first use only.
    ``sleep``/``clock`` (seconds) pace the wait for a queue-policy lock; tests inject fakes.
    """

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._stage_lock = threading.Lock()
        self._sleep = sleep
        self._clock = clock

    def _client(self, service: str) -> Any:
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._client_factory(service)
            return self._clients[service]

    def ensure_api_resource(self, api_id: str, root_resource_id: str, path: str) -> str:
        """Create every missing segment of ``path`` (``/order-created``) under the API root; its resource id."""
        apigateway = self._client("apigateway")
        existing: dict[str, str] = {}
        for page in apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
            for item in page.get("items", []):
                existing[item["path"]] = item["id"]
        parent_id = existing.get("/", root_resource_id)
        current = ""
        for segment in [part for part in path.split("/") if part]:
            current = f"{current}/{segment}"
            if current not in existing:
                try:
                    created = apigateway.create_resource(restApiId=api_id, parentId=parent_id, pathPart=segment)
                    existing[current] = created["id"]
                    logger.info("created API resource", extra={"api_id": api_id, "path": current})
                except apigateway.exceptions.ConflictException:
                    # another producer of the same event type created it at the same time
                    existing[current] = self._resource_id(api_id, current)
            parent_id = existing[current]
        return parent_id

    def _resource_id(self, api_id: str, path: str) -> str:
        for page in self._client("apigateway").get_paginator("get_resources").paginate(restApiId=api_id):
            for item in page.get("items", []):
                if item["path"] == path:
                    return str(item["id"])
        raise LookupError(f"API resource {path} not found on {api_id}")

    def redeploy_stage(self, api_id: str, stage_name: str, description: str) -> str:
        """Create a new deployment of the shared stage, so it serves every producer's current methods."""
        apigateway = self._client("apigateway")
        with self._stage_lock:
            for attempt in range(1, DEPLOYMENT_ATTEMPTS + 1):
                try:
                    response = apigateway.create_deployment(
                        restApiId=api_id, stageName=stage_name, description=description
                    )
                    return str(response["id"])
                except Exception as error:
                    code = getattr(error, "response", {}).get("Error", {}).get("Code")
                    if code not in RETRIED_DEPLOYMENT_ERRORS or attempt == DEPLOYMENT_ATTEMPTS:
                        raise
                    logger.info("stage deployment refused; trying again", extra={"code": code, "attempt": attempt})
                    self._sleep(min(2.0**attempt, 20.0))
        raise AssertionError("unreachable")

    def sync_connection(self, connection_name: str, auth: HttpsAuth) -> None:
        """Copy the real credentials from the referenced secret into the EventBridge connection."""
        secret = self._client("secretsmanager").get_secret_value(SecretId=auth.secret_arn)
        secret_string = secret.get("SecretString")
        if not isinstance(secret_string, str):
            raise SecretFormatError(f"secret {auth.secret_arn} has no string value")
        authorization_type, parameters = connection_auth_parameters(auth, secret_string)
        self._client("events").update_connection(
            Name=connection_name, AuthorizationType=authorization_type, AuthParameters=parameters
        )

    def enable_rule(self, rule_name: str, event_bus_name: str) -> None:
        """Enable a consumer rule the stack created disabled (its connection now holds the real credential)."""
        self._client("events").enable_rule(Name=rule_name, EventBusName=event_bus_name)
        logger.info("enabled rule", extra={"rule": rule_name})

    # ---- target queues ------------------------------------------------------------------------------

    def _queue_url(self, queue_arn: str) -> str:
        name = queue_arn.rsplit(":", 1)[1]
        response = self._client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=arn_account(queue_arn))
        return str(response["QueueUrl"])

    def check_queue_encryption(self, queue_arn: str) -> str | None:
        """Raise ``TargetQueueUnusable`` when EventBridge cannot send to this queue of the broker's account.

        The AWS managed key ``alias/aws/sqs`` never works; a customer managed key must grant
        ``events.amazonaws.com`` ``kms:GenerateDataKey`` and ``kms:Decrypt``. Returns ``None`` when the
        queue is fine, or a note for the deployment's instructions when the broker may not read the
        queue's attributes or the key (the owner then checks it).
        """
        try:
            url = self._queue_url(queue_arn)
            attributes = self._client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])
        except ClientError as error:
            code = _error_code(error)
            if code in _MISSING_QUEUE:
                raise TargetQueueUnusable(f"target queue {queue_arn} does not exist") from error
            if code in _DENIED:
                return self._unchecked_note(queue_arn, "the broker may not read the queue's attributes")
            raise
        key_id = attributes.get("Attributes", {}).get("KmsMasterKeyId")
        if not key_id:
            return None  # SSE-SQS or no encryption: EventBridge needs nothing more
        if key_id == AWS_MANAGED_SQS_KEY:
            raise TargetQueueUnusable(self._aws_managed_key_reason(queue_arn))
        kms = self._client("kms")
        try:
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if metadata.get("KeyManager") == "AWS":
                raise TargetQueueUnusable(self._aws_managed_key_reason(queue_arn))
            policy = json.loads(kms.get_key_policy(KeyId=metadata["Arn"], PolicyName="default")["Policy"])
        except ClientError as error:
            if _error_code(error) in _DENIED or _error_code(error) == "NotFoundException":
                return self._unchecked_note(queue_arn, f"the broker may not read its KMS key {key_id}")
            raise
        if not key_policy_grants_events(policy):
            raise TargetQueueUnusable(
                f"target queue {queue_arn} is encrypted with KMS key {metadata['Arn']}, whose key policy does not "
                f"allow {EVENTS_PRINCIPAL} {' and '.join(EVENTS_KEY_ACTIONS)}: every event would go to the "
                f"subscription's dead-letter queue. Add this statement to the key policy, then deploy again:\n"
                f"{json.dumps(key_statement_for_events(), indent=2, sort_keys=True)}"
            )
        return None

    @staticmethod
    def _aws_managed_key_reason(queue_arn: str) -> str:
        return (
            f"target queue {queue_arn} is encrypted with the AWS managed key {AWS_MANAGED_SQS_KEY}, which "
            f"EventBridge cannot use: every event would go to the subscription's dead-letter queue. Switch the "
            f"queue to SSE-SQS or to a customer managed key that allows {EVENTS_PRINCIPAL} "
            f"{' and '.join(EVENTS_KEY_ACTIONS)}, then deploy again."
        )

    @staticmethod
    def _unchecked_note(queue_arn: str, why: str) -> str:
        return (
            f"The broker could not check how queue {queue_arn} is encrypted ({why}; tag the queue and its key "
            f"event-broker=<environment> to let it). It must not use the AWS managed key {AWS_MANAGED_SQS_KEY}; "
            f"a customer managed key must allow {EVENTS_PRINCIPAL} {' and '.join(EVENTS_KEY_ACTIONS)}."
        )

    @contextmanager
    def _queue_lock(self, catalog_table: str, queue_arn: str) -> Iterator[None]:
        """Hold the lock of one queue's policy (``QueuePolicyLocks``), waiting up to its wait time."""
        locks = QueuePolicyLocks(catalog_table, lambda: self._client("dynamodb"))
        owner = uuid.uuid4().hex
        deadline = self._clock() + QUEUE_LOCK_WAIT_SECONDS
        while True:
            now = self._clock()
            if locks.try_acquire(queue_arn, owner, now, QUEUE_LOCK_SECONDS):
                break
            if now >= deadline:
                raise QueuePolicyBusy(f"the policy of queue {queue_arn} stayed locked by another run")
            self._sleep(1.0)
        try:
            yield
        finally:
            locks.release(queue_arn, owner)

    def _broker_rules_targeting(self, queue_arn: str, event_bus_name: str, rule_prefix: str) -> list[str]:
        paginator = self._client("events").get_paginator("list_rule_names_by_target")
        names: list[str] = []
        for page in paginator.paginate(TargetArn=queue_arn, EventBusName=event_bus_name):
            names += [name for name in page.get("RuleNames", []) if name.startswith(rule_prefix)]
        return names

    def converge_queue_policy(
        self,
        queue_arn: str,
        statement: dict[str, Any],
        *,
        rule_prefix: str,
        needed: bool,
        event_bus_name: str,
        catalog_table: str,
    ) -> bool:
        """Make the broker's statement (by its ``Sid``) present in the queue's policy while a subscription uses it.

        Present when ``needed`` (a subscription was just applied) or when a rule of the broker
        (``rule_prefix``) still targets the queue; absent otherwise. Every other statement of the
        policy is kept as it is. Returns whether the policy changed. A queue that no longer exists
        has nothing to change when the statement is not needed.
        """
        sid = statement["Sid"]
        with self._queue_lock(catalog_table, queue_arn):
            keep = needed or bool(self._broker_rules_targeting(queue_arn, event_bus_name, rule_prefix))
            sqs = self._client("sqs")
            try:
                url = self._queue_url(queue_arn)
            except ClientError as error:
                if _error_code(error) in _MISSING_QUEUE and not keep:
                    return False
                raise
            raw = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
            policy: dict[str, Any] = json.loads(raw) if raw else {"Version": "2012-10-17", "Statement": []}
            current = [s for s in _listed(policy.get("Statement", [])) if isinstance(s, dict)]
            others = [s for s in current if s.get("Sid") != sid]
            unchanged = (statement in current and len(others) == len(current) - 1) if keep else others == current
            if unchanged:
                return False
            wanted = [*others, statement] if keep else others
            # an empty string removes the policy: SQS refuses a policy without statements
            text = json.dumps({**policy, "Statement": wanted}) if wanted else ""
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": text})
            logger.info("queue policy converged", extra={"queue_arn": queue_arn, "statement": sid, "present": keep})
            return True
