"""The IAM policies of the core roles, as plain data.

ARNs are derived from ``BrokerNames`` as literal strings wherever AWS's ARN format allows, so the
synthesized policies read like the documentation and tests can compare exact sets. Only the KMS
key and the producers' API id are tokens: AWS chooses them at creation time.

Component resources (rules, queues, pipes ...) are scoped by the ``<env>-`` name prefix every
``ProducerNames``/``ConsumerNames`` name starts with; queues by the narrower ``<env>-producer-`` and
``<env>-sub-``. Component roles all start with ``<env>-eb-`` and the generator may create them, or
change their inline policy, only with the broker's permissions boundary attached
(``component_boundary_statements``): whatever a deployment file says, no role it creates can do more
than deliver events. The core's own roles (``<env>-event-broker-*``) are explicitly denied to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker_contract.arns import EVENTS_PRINCIPAL
from broker_contract.names import BrokerNames
from modules.shared.iam import Statement

PARTITION = "aws"
#: tag key (value: the environment) by which teams let the generator use their secrets and queues
BROKER_TAG = "event-broker"


@dataclass(frozen=True)
class CoreArns:
    """ARNs of the core resources of one environment, built from their names."""

    names: BrokerNames

    @property
    def _region_account(self) -> str:
        return f"{self.names.region}:{self.names.account_id}"

    def bucket(self, name: str) -> str:
        return f"arn:{PARTITION}:s3:::{name}"

    def objects(self, name: str) -> str:
        return f"{self.bucket(name)}/*"

    def table(self, name: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{self._region_account}:table/{name}"

    def queue(self, name: str) -> str:
        return f"arn:{PARTITION}:sqs:{self._region_account}:{name}"

    def role(self, name: str) -> str:
        return f"arn:{PARTITION}:iam::{self.names.account_id}:role/{name}"

    def log_group(self, name: str) -> str:
        return f"arn:{PARTITION}:logs:{self._region_account}:log-group:{name}"

    @property
    def account_root(self) -> str:
        return f"arn:{PARTITION}:iam::{self.names.account_id}:root"

    @property
    def event_bus(self) -> str:
        return f"arn:{PARTITION}:events:{self._region_account}:event-bus/{self.names.event_bus}"

    @property
    def catalog_table(self) -> str:
        return self.table(self.names.catalog_table)

    @property
    def schema_registry(self) -> str:
        return f"arn:{PARTITION}:schemas:{self._region_account}:registry/{self.names.schema_registry}"

    @property
    def registry_schemas(self) -> str:
        return f"arn:{PARTITION}:schemas:{self._region_account}:schema/{self.names.schema_registry}/*"

    @property
    def generator_function(self) -> str:
        return f"arn:{PARTITION}:lambda:{self._region_account}:function:{self.names.generator_function}"

    @property
    def generator_repository(self) -> str:
        return f"arn:{PARTITION}:ecr:{self._region_account}:repository/{self.names.generator_repository}"

    def api(self, api_id: str) -> str:
        return f"arn:{PARTITION}:apigateway:{self.names.region}::/restapis/{api_id}"

    def policy(self, name: str) -> str:
        return f"arn:{PARTITION}:iam::{self.names.account_id}:policy/{name}"

    @property
    def component_boundary(self) -> str:
        """The permissions boundary every component role carries (a managed policy of the broker stack)."""
        return self.policy(self.names.component_boundary_policy)

    @property
    def component_roles(self) -> str:
        return self.role(f"{self.names.component_role_prefix}*")

    @property
    def component_queues(self) -> list[str]:
        """Queues component stacks create: producer queues and their DLQs, consumer DLQs (``<env>-sub-...-dlq``)."""
        env = self.names.environment
        return [self.queue(f"{env}-producer-*"), self.queue(f"{env}-sub-*")]


def _catalog_statement(arns: CoreArns, sid: str, actions: list[str], indexes: bool) -> Statement:
    resources = [arns.catalog_table, f"{arns.catalog_table}/index/*"] if indexes else [arns.catalog_table]
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _kms_statement(kms_key_arn: str) -> Statement:
    return {
        "Sid": "UseBrokerKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": [kms_key_arn],
    }


def _lambda_logs_statement(arns: CoreArns, log_group_arn: str) -> Statement:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"{log_group_arn}:*"],
    }


def apigateway_events_statements(arns: CoreArns) -> list[Statement]:
    """API Gateway's producer integrations may only put events on the broker's bus."""
    return [
        {"Sid": "PutEventsOnBrokerBus", "Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [arns.event_bus]}
    ]


def component_boundary_statements(arns: CoreArns, producer_api_id: str) -> list[Statement]:
    """The most any component role may ever do: deliver events to targets, pipe producer queues, publish.

    Each role's inline policy narrows this to its one target, queue or method; the boundary is what
    holds if a deployment file (or a bug) asked the generator for more.
    """
    names = arns.names
    region = names.region
    region_account = f"{region}:{names.account_id}"
    return [
        {
            "Sid": "DeliverToApiDestinations",
            "Effect": "Allow",
            "Action": ["events:InvokeApiDestination"],
            "Resource": [f"arn:{PARTITION}:events:{region_account}:api-destination/{names.environment}-*"],
        },
        {
            "Sid": "PipeProducerQueues",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            "Resource": [arns.queue(f"{names.environment}-producer-*")],
        },
        {"Sid": "PutOnBrokerBus", "Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [arns.event_bus]},
        {
            # consumer targets: functions and queues of any account, in the broker's region (rules deliver nowhere else)
            "Sid": "DeliverToConsumerTargets",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "sqs:SendMessage"],
            "Resource": [
                f"arn:{PARTITION}:lambda:{region}:*:function:*",
                f"arn:{PARTITION}:sqs:{region}:*:*",
            ],
        },
        {
            "Sid": "EncryptForConsumerQueues",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [f"arn:{PARTITION}:kms:{region}:*:key/*"],
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        },
        {
            "Sid": "PublishToProducerApi",
            "Effect": "Allow",
            "Action": ["execute-api:Invoke"],
            "Resource": [
                f"arn:{PARTITION}:execute-api:{region_account}:{producer_api_id}/{names.producer_api_stage}/POST/*"
            ],
        },
    ]


def portal_statements(arns: CoreArns, kms_key_arn: str) -> list[Statement]:
    """Exactly what the portal calls: catalog items and queries, schema backups, deployment files, the registry.

    Transactions (``TransactWriteItems``) are authorized per item as Put/Update/Delete; the portal
    never deletes deployment files (they are the audit trail) and only reads artifacts.
    """
    names = arns.names
    return [
        _catalog_statement(
            arns,
            "Catalog",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            indexes=True,
        ),
        {
            "Sid": "SchemaBackups",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [arns.objects(names.schema_bucket)],
        },
        {
            "Sid": "DeploymentFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [arns.objects(names.producer_bucket), arns.objects(names.consumer_bucket)],
        },
        {
            "Sid": "ReadArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [arns.objects(names.artifact_bucket)],
        },
        {
            # the schema backups are listed to rebuild the registry; elsewhere, without ListBucket a
            # missing key answers 403 instead of 404 and the portal could not tell "absent" from "refused"
            "Sid": "ListBrokerBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [
                arns.bucket(name)
                for name in (names.schema_bucket, names.producer_bucket, names.consumer_bucket, names.artifact_bucket)
            ],
        },
        {
            "Sid": "SchemaRegistry",
            "Effect": "Allow",
            "Action": ["schemas:CreateSchema", "schemas:DeleteSchema", "schemas:UpdateSchema"],
            "Resource": [arns.schema_registry, arns.registry_schemas],
        },
        {
            # the owning team receives its producers' API key values (GetApiKey with includeValue)
            "Sid": "ProducerApiKeys",
            "Effect": "Allow",
            "Action": ["apigateway:GET"],
            "Resource": [f"arn:{PARTITION}:apigateway:{names.region}::/apikeys/*"],
        },
        _kms_statement(kms_key_arn),
        {
            # Chalice names the function after the app and stage, which the portal chooses
            "Sid": "WriteLambdaLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{arns.log_group('/aws/lambda/*')}:*"],
        },
    ]


def generator_statements(arns: CoreArns, kms_key_arn: str, producer_api_id: str) -> list[Statement]:
    """The generator reads deployment files, runs Terraform on component stacks and records the result."""
    names = arns.names
    env = names.environment
    region_account = f"{names.region}:{names.account_id}"
    component_roles = arns.component_roles
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": arns.component_boundary}}
    core_roles = arns.role(f"{names.prefix}-*")
    api = arns.api(producer_api_id)
    return [
        {
            "Sid": "ConsumeDeploymentQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            "Resource": [arns.queue(names.generator_queue)],
        },
        {
            "Sid": "ReadDeploymentFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [arns.objects(names.producer_bucket), arns.objects(names.consumer_bucket)],
        },
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [arns.objects(names.artifact_bucket)],
        },
        {
            # state objects and their <key>.tflock lock files (S3 native locking)
            "Sid": "TerraformState",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [arns.objects(names.state_bucket)],
        },
        {
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [
                arns.bucket(names.artifact_bucket),
                arns.bucket(names.consumer_bucket),
                arns.bucket(names.producer_bucket),
                arns.bucket(names.state_bucket),
            ],
        },
        # the generator reads and writes deployment and component items by key (and deletes the queue-policy
        # locks it takes); it never lists
        _catalog_statement(
            arns,
            "Catalog",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            indexes=False,
        ),
        _kms_statement(kms_key_arn),
        {
            "Sid": "ComponentRules",
            "Effect": "Allow",
            "Action": [
                "events:DeleteRule",
                "events:DescribeRule",
                "events:EnableRule",
                "events:ListTagsForResource",
                "events:ListTargetsByRule",
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:TagResource",
                "events:UntagResource",
            ],
            "Resource": [f"arn:{PARTITION}:events:{region_account}:rule/{names.event_bus}/{env}-*"],
        },
        {
            # before removing the broker's statement from a shared queue's policy: does a subscription still use it
            "Sid": "FindRulesTargetingAQueue",
            "Effect": "Allow",
            "Action": ["events:ListRuleNamesByTarget"],
            "Resource": [f"arn:{PARTITION}:events:{region_account}:rule/*"],
        },
        {
            "Sid": "ComponentConnectionsAndApiDestinations",
            "Effect": "Allow",
            "Action": [
                "events:CreateApiDestination",
                "events:CreateConnection",
                "events:DeleteApiDestination",
                "events:DeleteConnection",
                "events:DescribeApiDestination",
                "events:DescribeConnection",
                "events:UpdateApiDestination",
                "events:UpdateConnection",
            ],
            "Resource": [
                f"arn:{PARTITION}:events:{region_account}:api-destination/{env}-*",
                f"arn:{PARTITION}:events:{region_account}:connection/{env}-*",
            ],
        },
        {
            # EventBridge keeps a connection's credentials in a secret it names events!connection/...
            "Sid": "ConnectionSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecret",
            ],
            "Resource": [f"arn:{PARTITION}:secretsmanager:{region_account}:secret:events!connection/{env}-*"],
        },
        {
            # consumers' credentials: only secrets their owners tagged for this environment's broker
            "Sid": "ReadTaggedConsumerSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": [f"arn:{PARTITION}:secretsmanager:{region_account}:secret:*"],
            "Condition": {"StringEquals": {f"secretsmanager:ResourceTag/{BROKER_TAG}": env}},
        },
        {
            "Sid": "ComponentQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            "Resource": arns.component_queues,
        },
        {
            # SQS consumers' queues belong to their teams, under names the broker does not choose: the
            # generator reads their encryption and adds or removes its subscriptions' statements in their
            # policy, only on queues whose owners opted in by tagging them event-broker=<env>
            "Sid": "ConsumerQueuePolicies",
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:SetQueueAttributes"],
            "Resource": [arns.queue("*")],
            "Condition": {"StringEquals": {f"aws:ResourceTag/{BROKER_TAG}": env}},
        },
        {
            "Sid": "ComponentPipes",
            "Effect": "Allow",
            "Action": [
                "pipes:CreatePipe",
                "pipes:DeletePipe",
                "pipes:DescribePipe",
                "pipes:ListTagsForResource",
                "pipes:StartPipe",
                "pipes:StopPipe",
                "pipes:TagResource",
                "pipes:UntagResource",
                "pipes:UpdatePipe",
            ],
            "Resource": [f"arn:{PARTITION}:pipes:{region_account}:pipe/{env}-*"],
        },
        {
            # a role the generator creates or gives permissions to must carry the broker's boundary
            "Sid": "ComponentRolesWithBoundary",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
            ],
            "Resource": [component_roles],
            "Condition": with_boundary,
        },
        {
            "Sid": "ComponentRoles",
            "Effect": "Allow",
            "Action": [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            "Resource": [component_roles],
        },
        {
            "Sid": "KeepComponentRolesBounded",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary"],
            "Resource": [component_roles],
        },
        {
            "Sid": "PassComponentRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [component_roles],
            "Condition": {"StringEquals": {"iam:PassedToService": [EVENTS_PRINCIPAL, "pipes.amazonaws.com"]}},
        },
        {
            # the producer endpoints' integrations put events with the core role API Gateway assumes
            "Sid": "PassPutEventsRoleToProducerIntegrations",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [arns.role(names.apigateway_events_role)],
            "Condition": {"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}},
        },
        {
            # the core roles match <env>-* too: never let the generator widen its own or the portal's rights
            "Sid": "ProtectCoreRoles",
            "Effect": "Deny",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            "Resource": [core_roles],
        },
        {
            "Sid": "ProtectCoreQueues",
            "Effect": "Deny",
            "Action": ["sqs:DeleteQueue", "sqs:SetQueueAttributes"],
            "Resource": [arns.queue(f"{names.prefix}-*")],
        },
        {
            "Sid": "ProducerApiOnly",
            "Effect": "Allow",
            "Action": ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
            "Resource": [api, f"{api}/*"],
        },
        {
            # usage plans and API keys have AWS-chosen ids, so they cannot be scoped by name
            "Sid": "ProducerUsagePlansAndKeys",
            "Effect": "Allow",
            "Action": ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
            "Resource": [
                f"arn:{PARTITION}:apigateway:{names.region}::/apikeys",
                f"arn:{PARTITION}:apigateway:{names.region}::/apikeys/*",
                f"arn:{PARTITION}:apigateway:{names.region}::/tags/*",
                f"arn:{PARTITION}:apigateway:{names.region}::/usageplans",
                f"arn:{PARTITION}:apigateway:{names.region}::/usageplans/*",
            ],
        },
        {
            # consumer Lambda targets belong to their teams, under names the broker does not choose: only
            # functions whose owners opted in by tagging them event-broker=<env>
            "Sid": "InvokePermissionsOfConsumerFunctions",
            "Effect": "Allow",
            "Action": ["lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission"],
            "Resource": [f"arn:{PARTITION}:lambda:{region_account}:function:*"],
            "Condition": {"StringEquals": {f"aws:ResourceTag/{BROKER_TAG}": env}},
        },
        {
            # same-account target queues: is the queue on a key EventBridge can use (read-only)
            "Sid": "ReadTargetQueueKeys",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"],
            "Resource": [f"arn:{PARTITION}:kms:{region_account}:key/*"],
        },
        _lambda_logs_statement(arns, arns.log_group(names.generator_log_group)),
        {
            # X-Ray has no resource-level permissions; the function traces with Active mode
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": ["*"],
        },
    ]
