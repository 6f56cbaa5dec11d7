"""The broker (core) stack: the bus, the catalog, the buckets, the producers' API and the generator.

Names come from ``BrokerNames`` as literal strings, and policies name ARNs derived from them
(``modules.core.policies``), so the synthesized JSON can be read, tested and replayed against a
local AWS emulator without resolving anything at apply time. The values portal and generator need
at run time are declared once (``runtime_values``) and used both as the stack's outputs (one per
``RuntimeConfig`` field) and as the generator's ``BROKER_*`` environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.cloudwatch_event_archive import CloudwatchEventArchive
from cdktf_cdktf_provider_aws.cloudwatch_event_bus import CloudwatchEventBus
from cdktf_cdktf_provider_aws.cloudwatch_event_bus_policy import CloudwatchEventBusPolicy
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cognito_user_pool import (
    CognitoUserPool,
    CognitoUserPoolAdminCreateUserConfig,
    CognitoUserPoolPasswordPolicy,
    CognitoUserPoolSchema,
    CognitoUserPoolSchemaStringAttributeConstraints,
    CognitoUserPoolSoftwareTokenMfaConfiguration,
)
from cdktf_cdktf_provider_aws.cognito_user_pool_client import (
    CognitoUserPoolClient,
    CognitoUserPoolClientTokenValidityUnits,
)
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.ecr_repository_policy import EcrRepositoryPolicy
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionEphemeralStorage,
    LambdaFunctionLoggingConfig,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification, S3BucketNotificationQueue
from cdktf_cdktf_provider_aws.schemas_registry import SchemasRegistry
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from broker_contract import catalog
from broker_contract.config import EnvironmentConfig, RuntimeConfig, variable
from cdktf_stacks.bootstrap import aws_provider
from modules.core.policies import (
    CoreArns,
    apigateway_events_statements,
    component_boundary_statements,
    generator_statements,
    portal_statements,
)
from modules.core.producer_api import ProducerApi, ProducerApiConfig
from modules.shared.backend import StateLocation, use_remote_state
from modules.shared.bucket import SecureBucket, SecureBucketConfig
from modules.shared.checkov import skip_check
from modules.shared.embedded import EmbeddedAws, point_backend_at
from modules.shared.iam import ServiceRoleConfig, Statement, assume_role_policy, policy_document, service_role
from modules.shared.queue import QueueWithDlq, QueueWithDlqConfig

#: S3 notifications for deployment files: every new file is one message to the generator
DEPLOYMENT_FILE_EVENTS = ["s3:ObjectCreated:*"]
DEPLOYMENT_FILE_SUFFIX = ".json"
APIGATEWAY_CLOUDWATCH_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

#: construct -> why the local variant of the broker stack (applied to moto_server) leaves it out; outputs that
#: named them keep their derived names, so the run-time configuration stays complete
LEFT_OUT_LOCALLY: dict[str, str] = {
    "schema_registry": (
        "moto has no EventBridge Schemas service; the portal keeps every schema version in its S3 backup "
        "(BROKER_SCHEMA_REGISTRY_MODE=local)"
    ),
    "generator_function": (
        "the generator runs as a local worker process (python -m generator worker): moto cannot run a "
        "container-image Lambda, and its SQS event source mapping would take the worker's messages"
    ),
}


def leaves_out(embedded: EmbeddedAws | None, construct: str) -> bool:
    """True when the local variant (``embedded`` set) leaves ``construct`` (a key of ``LEFT_OUT_LOCALLY``) out."""
    return embedded is not None and construct in LEFT_OUT_LOCALLY


def broker_state_key(environment: str) -> str:
    """Key of the broker stack's state in the bootstrap bucket."""
    return f"{environment}/core/broker.tfstate"


@dataclass(frozen=True)
class BrokerConfig:
    """The environment and the tunable limits of the core resources.

    The generator runs Terraform, so it gets the largest memory (CPU scales with it), 15 minutes
    and room in ``/tmp`` for provider plugins. ``generator_reserved_concurrency`` caps parallel
    applies (each holds a state lock); SQS event source mappings need at least 2. One record per
    invocation (``generator_batch_size``), so an apply never runs short of the function's time because
    of the records before it.
    """

    environment: EnvironmentConfig
    archive_retention_days: int = 30
    log_retention_days: int = 365
    throttling_burst_limit: int = 100
    throttling_rate_limit: float = 50.0
    api_logging_level: str = "INFO"
    generator_timeout_seconds: int = 900
    generator_memory_mb: int = 3008
    generator_ephemeral_storage_mb: int = 4096
    generator_reserved_concurrency: int = 10
    generator_batch_size: int = 1
    generator_max_receive_count: int = 3
    #: the local variant (``modules.shared.embedded``): applied to moto_server instead of an AWS account
    embedded: EmbeddedAws | None = None

    def __post_init__(self) -> None:
        if self.generator_reserved_concurrency < 2:
            raise ValueError("generator_reserved_concurrency must be at least 2 (SQS event source mapping minimum)")
        if not 1 <= self.generator_batch_size <= 10:
            raise ValueError("generator_batch_size must be between 1 and 10")
        if self.log_retention_days < 365:
            raise ValueError("log_retention_days must be at least 365")


class BrokerStack(TerraformStack):
    """Every shared resource of one environment; state in the bootstrap bucket."""

    def __init__(self, scope: Construct, stack_id: str, config: BrokerConfig) -> None:
        super().__init__(scope, stack_id)
        env = config.environment
        names = env.names
        arns = CoreArns(names)
        self.names = names
        self.environment = env
        self._role_policies: dict[str, IamRolePolicy] = {}
        embedded = config.embedded
        aws_provider(self, env, embedded)
        backend = use_remote_state(
            self,
            StateLocation(
                bucket=names.state_bucket,
                key=broker_state_key(env.environment),
                region=env.region,
            ),
        )
        point_backend_at(backend, embedded)

        self.kms_key = KmsKey(
            self,
            "key",
            description=f"{names.prefix}: catalog, buckets, logs, generator image and environment",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(
                policy_document(
                    [
                        {
                            "Sid": "AccountAdministersThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": arns.account_root},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "CloudWatchLogsOfThisAccount",
                            "Effect": "Allow",
                            "Principal": {"Service": f"logs.{env.region}.amazonaws.com"},
                            "Action": [
                                "kms:Decrypt*",
                                "kms:Describe*",
                                "kms:Encrypt*",
                                "kms:GenerateDataKey*",
                                "kms:ReEncrypt*",
                            ],
                            "Resource": "*",
                            "Condition": {
                                "ArnLike": {
                                    "kms:EncryptionContext:aws:logs:arn": arns.log_group("*"),
                                }
                            },
                        },
                    ]
                )
            ),
        )
        KmsAlias(self, "key-alias", name=names.kms_key_alias, target_key_id=self.kms_key.key_id)
        key_arn = self.kms_key.arn

        # --- events -------------------------------------------------------------------------
        self.event_bus = CloudwatchEventBus(self, "event-bus", name=names.event_bus)
        CloudwatchEventArchive(
            self,
            "event-archive",
            name=names.event_archive,
            description=f"every event of {names.event_bus}, for replay",
            event_source_arn=self.event_bus.arn,
            retention_days=config.archive_retention_days,
        )
        CloudwatchEventBusPolicy(
            self,
            "event-bus-policy",
            event_bus_name=self.event_bus.name,
            policy=json.dumps(
                policy_document(
                    [
                        {
                            "Sid": "AccountMayPutEvents",
                            "Effect": "Allow",
                            "Principal": {"AWS": arns.account_root},
                            "Action": "events:PutEvents",
                            "Resource": arns.event_bus,
                        }
                    ]
                )
            ),
        )
        self.schema_registry: SchemasRegistry | None = None
        if not leaves_out(embedded, "schema_registry"):
            self.schema_registry = SchemasRegistry(
                self,
                "schema-registry",
                name=names.schema_registry,
                description="JSON Schemas of every event version published on the broker",
            )

        # --- portal users -------------------------------------------------------------------
        # Platform admins create the users and set their team; the portal reads it from the token's
        # custom:team claim, so the attribute is immutable and the client may read but never write it.
        self.portal_user_pool = CognitoUserPool(
            self,
            "portal-users",
            name=names.portal_user_pool,
            deletion_protection="ACTIVE",
            admin_create_user_config=CognitoUserPoolAdminCreateUserConfig(allow_admin_create_user_only=True),
            auto_verified_attributes=["email"],
            username_attributes=["email"],
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=CognitoUserPoolSoftwareTokenMfaConfiguration(enabled=True),
            password_policy=CognitoUserPoolPasswordPolicy(
                minimum_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            schema=[
                CognitoUserPoolSchema(
                    name="team",
                    attribute_data_type="String",
                    mutable=False,
                    required=False,
                    string_attribute_constraints=CognitoUserPoolSchemaStringAttributeConstraints(
                        min_length="1", max_length="48"
                    ),
                )
            ],
        )
        self.portal_user_pool_client = CognitoUserPoolClient(
            self,
            "portal-client",
            name=names.portal_user_pool_client,
            user_pool_id=self.portal_user_pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            read_attributes=["email", "custom:team"],
            write_attributes=["email"],
            access_token_validity=1,
            id_token_validity=1,
            # units of the validity periods above, not token values
            token_validity_units=[
                CognitoUserPoolClientTokenValidityUnits(access_token="hours", id_token="hours")  # noqa: S106
            ],
        )

        # --- buckets ------------------------------------------------------------------------
        def bucket(construct_id: str, name: str, expiration_days: int | None = None) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                SecureBucketConfig(
                    name=name,
                    kms_key_arn=key_arn,
                    access_log_bucket=names.access_log_bucket,
                    expiration_days=expiration_days,
                ),
            )

        self.schema_bucket = bucket("schema-bucket", names.schema_bucket)
        self.producer_bucket = bucket("producer-bucket", names.producer_bucket)
        self.consumer_bucket = bucket("consumer-bucket", names.consumer_bucket)
        self.artifact_bucket = bucket("artifact-bucket", names.artifact_bucket)
        for secure in (self.schema_bucket, self.producer_bucket, self.consumer_bucket, self.artifact_bucket):
            skip_check(
                secure.bucket,
                "CKV_AWS_144",
                "single-region broker: versioning keeps history; a replica is an environment-level DR decision",
            )
        for secure in (self.schema_bucket, self.artifact_bucket):
            skip_check(secure.bucket, "CKV2_AWS_62", "nothing reacts to new objects in this bucket")

        # --- catalog ------------------------------------------------------------------------
        self.catalog_table = DynamodbTable(
            self,
            "catalog-table",
            name=names.catalog_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key=catalog.PARTITION_KEY,
            range_key=catalog.SORT_KEY,
            attribute=[DynamodbTableAttribute(name=name, type="S") for name in catalog.KEY_ATTRIBUTES],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=index.name,
                    hash_key=index.partition_key,
                    range_key=index.sort_key,
                    projection_type="ALL",
                )
                for index in catalog.INDEXES
            ],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key_arn),
            deletion_protection_enabled=True,
        )

        # --- producers' API -----------------------------------------------------------------
        cloudwatch_role = IamRole(
            self,
            "apigateway-cloudwatch-role",
            name=names.apigateway_cloudwatch_role,
            description="account-wide: lets API Gateway write execution and access logs",
            assume_role_policy=json.dumps(assume_role_policy("apigateway.amazonaws.com")),
        )
        cloudwatch_attachment = IamRolePolicyAttachment(
            self, "apigateway-cloudwatch-policy", role=cloudwatch_role.name, policy_arn=APIGATEWAY_CLOUDWATCH_POLICY
        )
        account = ApiGatewayAccount(
            self,
            "apigateway-account",
            cloudwatch_role_arn=cloudwatch_role.arn,
            depends_on=[cloudwatch_attachment],
        )
        self.producer_api = ProducerApi(
            self,
            "producer-api",
            ProducerApiConfig(
                name=names.producer_api,
                stage_name=names.producer_api_stage,
                log_group_name=names.producer_api_log_group,
                log_retention_days=config.log_retention_days,
                kms_key_arn=key_arn,
                throttling_burst_limit=config.throttling_burst_limit,
                throttling_rate_limit=config.throttling_rate_limit,
                logging_level=config.api_logging_level,
                stage_depends_on=(account,),
            ),
        )
        self.apigateway_events_role = self._role(
            "apigateway-events-role",
            names.apigateway_events_role,
            "apigateway.amazonaws.com",
            "producer endpoints put events on the broker bus",
            apigateway_events_statements(arns),
        )

        # --- generator ----------------------------------------------------------------------
        self.generator_repository = EcrRepository(
            self,
            "generator-repository",
            name=names.generator_repository,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=key_arn)],
        )
        EcrLifecyclePolicy(
            self,
            "generator-repository-lifecycle",
            repository=self.generator_repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "keep the 20 newest generator images",
                            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
        )
        EcrRepositoryPolicy(
            self,
            "generator-repository-policy",
            repository=self.generator_repository.name,
            policy=json.dumps(
                policy_document(
                    [
                        {
                            "Sid": "GeneratorFunctionPullsItsImage",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            "Condition": {"StringLike": {"aws:sourceArn": arns.generator_function}},
                        }
                    ]
                )
            ),
        )

        self.generator_queue = QueueWithDlq(
            self,
            "generator-queue",
            QueueWithDlqConfig(
                name=names.generator_queue,
                dead_letter_name=names.generator_dead_letter_queue,
                max_receive_count=config.generator_max_receive_count,
                # AWS asks for six times the function timeout, so a retried batch is not received twice
                visibility_timeout_seconds=6 * config.generator_timeout_seconds,
            ),
        )
        queue = self.generator_queue.queue
        queue_policy = SqsQueuePolicy(
            self,
            "generator-queue-policy",
            queue_url=queue.url,
            policy=json.dumps(
                policy_document(
                    [
                        {
                            "Sid": "DeploymentFileNotifications",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arns.queue(names.generator_queue),
                            "Condition": {
                                "ArnLike": {"aws:SourceArn": [self.producer_bucket.arn, self.consumer_bucket.arn]},
                                "StringEquals": {"aws:SourceAccount": env.account_id},
                            },
                        }
                    ]
                )
            ),
        )
        for secure in (self.producer_bucket, self.consumer_bucket):
            S3BucketNotification(
                secure,
                "notification",
                bucket=secure.bucket.id,
                queue=[
                    S3BucketNotificationQueue(
                        queue_arn=queue.arn, events=DEPLOYMENT_FILE_EVENTS, filter_suffix=DEPLOYMENT_FILE_SUFFIX
                    )
                ],
                # S3 sends a test message when the notification is written; the queue must accept it
                depends_on=[queue_policy],
            )

        self.portal_role = self._role(
            "portal-role",
            names.portal_role,
            "lambda.amazonaws.com",
            "the portal (Chalice) API",
            portal_statements(arns, key_arn),
        )
        self.generator_role = self._role(
            "generator-role",
            names.generator_role,
            "lambda.amazonaws.com",
            "the generator: turns deployment files into applied component stacks",
            generator_statements(arns, key_arn, self.producer_api.api.id),
        )
        generator_policy = self._role_policies[names.generator_role]
        # the generator may create component roles only with this boundary attached (see policies.py)
        self.component_boundary = IamPolicy(
            self,
            "component-boundary",
            name=names.component_boundary_policy,
            description=f"{names.prefix}: the most any role of a producer or consumer component may do",
            policy=json.dumps(policy_document(component_boundary_statements(arns, self.producer_api.api.id))),
        )

        generator_logs = CloudwatchLogGroup(
            self,
            "generator-logs",
            name=names.generator_log_group,
            retention_in_days=config.log_retention_days,
            kms_key_id=key_arn,
        )
        self.runtime_values: dict[str, str] = {
            "environment": env.environment,
            "region": env.region,
            "account_id": env.account_id,
            "event_bus_name": self.event_bus.name,
            "event_bus_arn": self.event_bus.arn,
            "catalog_table_name": self.catalog_table.name,
            "schema_registry_name": self.schema_registry.name if self.schema_registry else names.schema_registry,
            "schema_bucket_name": self.schema_bucket.bucket.bucket,
            "producer_bucket_name": self.producer_bucket.bucket.bucket,
            "consumer_bucket_name": self.consumer_bucket.bucket.bucket,
            "artifact_bucket_name": self.artifact_bucket.bucket.bucket,
            "state_bucket_name": names.state_bucket,
            "producer_api_id": self.producer_api.api.id,
            "producer_api_root_resource_id": self.producer_api.api.root_resource_id,
            "producer_api_stage_name": self.producer_api.stage.stage_name,
            "producer_api_url": self.producer_api.stage.invoke_url,
            "apigateway_events_role_arn": self.apigateway_events_role.arn,
            "generator_queue_url": queue.url,
        }
        missing = set(RuntimeConfig.output_names()) ^ set(self.runtime_values)
        if missing:
            raise RuntimeError(f"runtime values out of step with RuntimeConfig: {sorted(missing)}")

        self.generator_function: LambdaFunction | None = None
        if leaves_out(embedded, "generator_function"):
            self._outputs()
            return
        self.generator_function = LambdaFunction(
            self,
            "generator-function",
            function_name=names.generator_function,
            description="applies producer and consumer deployment files with Terraform",
            role=self.generator_role.arn,
            package_type="Image",
            image_uri=f"{self.generator_repository.repository_url}:{env.generator_image_tag}",
            timeout=config.generator_timeout_seconds,
            memory_size=config.generator_memory_mb,
            ephemeral_storage=LambdaFunctionEphemeralStorage(size=config.generator_ephemeral_storage_mb),
            reserved_concurrent_executions=config.generator_reserved_concurrency,
            environment=LambdaFunctionEnvironment(
                variables={variable(name): value for name, value in self.runtime_values.items()}
            ),
            kms_key_arn=key_arn,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            logging_config=LambdaFunctionLoggingConfig(log_format="JSON", log_group=generator_logs.name),
            depends_on=[generator_policy, generator_logs],
        )
        skip_check(
            self.generator_function,
            "CKV_AWS_116",
            "SQS-triggered: failed messages go to the queue's dead-letter queue; a function DLQ only covers "
            "asynchronous invocations, which this function never gets",
        )
        skip_check(
            self.generator_function,
            "CKV_AWS_117",
            "reaches only AWS public endpoints and the Terraform registry; there is no VPC resource to reach",
        )
        skip_check(
            self.generator_function,
            "CKV_AWS_272",
            "Lambda code signing does not apply to container images; the image is scanned and its tags immutable",
        )
        self.event_source_mapping = LambdaEventSourceMapping(
            self,
            "generator-trigger",
            event_source_arn=queue.arn,
            function_name=self.generator_function.arn,
            batch_size=config.generator_batch_size,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=LambdaEventSourceMappingScalingConfig(
                maximum_concurrency=config.generator_reserved_concurrency
            ),
            depends_on=[generator_policy],
        )
        self._outputs()

    def _outputs(self) -> None:
        """Every run-time value and the operators' extras, as stack outputs."""
        names = self.names
        region_account = f"{self.environment.region}:{self.environment.account_id}"
        for name, value in self.runtime_values.items():
            TerraformOutput(self, name, value=value)
        extras = {
            "portal_role_arn": self.portal_role.arn,
            "generator_role_arn": self.generator_role.arn,
            "generator_repository_url": self.generator_repository.repository_url,
            "generator_function_name": (
                self.generator_function.function_name if self.generator_function else names.generator_function
            ),
            "schema_registry_arn": (
                self.schema_registry.arn
                if self.schema_registry
                else f"arn:aws:schemas:{region_account}:registry/{names.schema_registry}"
            ),
            "kms_key_arn": self.kms_key.arn,
            "portal_user_pool_arn": self.portal_user_pool.arn,
            # admins create users with this id (aws cognito-idp admin-create-user --user-pool-id ...)
            "portal_user_pool_id": self.portal_user_pool.id,
            "portal_user_pool_client_id": self.portal_user_pool_client.id,
        }
        for name, value in extras.items():
            TerraformOutput(self, name, value=value)

    def _role(self, construct_id: str, name: str, service: str, purpose: str, statements: list[Statement]) -> IamRole:
        """A role ``service`` assumes, with its permissions as one inline policy (kept in ``_role_policies``)."""
        role, self._role_policies[name] = service_role(
            self,
            construct_id,
            ServiceRoleConfig(
                name=name,
                service=service,
                description=f"{self.names.prefix}: {purpose}",
                policy_name=name,
                statements=statements,
            ),
        )
        return role
