"""The bootstrap stack: where every other stack keeps its Terraform state.

It is applied first, with local state (it cannot keep its state in the bucket it creates). It
creates the state bucket (Terraform locks with lock files in it: ``modules.shared.backend``) and the
bucket receiving every broker bucket's S3 server access logs (created here so it exists before any
bucket that logs into it).

Encryption choice: the state bucket uses SSE-S3 (AES256), not a customer managed key. Every stack's
S3 backend is configured with ``encrypt = true`` and no ``kms_key_id`` (``modules.shared.backend``),
and with that setting Terraform sends ``x-amz-server-side-encryption: AES256`` on every state write,
overriding any KMS default of the bucket. A CMK default would therefore protect nothing Terraform
writes while suggesting it does. Access to state is controlled by IAM (only the generator role and
operators), the TLS-only bucket policy and the public access block; versioning keeps every state
revision recoverable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from broker_contract.config import EnvironmentConfig
from modules.shared.bucket import SecureBucket, SecureBucketConfig
from modules.shared.checkov import skip_check
from modules.shared.embedded import EmbeddedAws, provider_endpoint_options


@dataclass(frozen=True)
class BootstrapConfig:
    """The environment to bootstrap and how long to keep logs and old state versions.

    The bootstrap stack's own (local) state file is ``terraform.<env>.bootstrap.tfstate`` in
    ``state_directory`` (default: the directory the app runs in, the project root for ``cdktf`` and
    ``make synth``). The path is absolute, so the state never lands inside ``cdktf.out`` (which
    ``make clean`` deletes) and two environments never share one state file.
    """

    environment: EnvironmentConfig
    access_log_retention_days: int = 365
    state_noncurrent_version_days: int = 90
    state_directory: Path = field(default_factory=Path.cwd)
    #: the local variant (``modules.shared.embedded``): applied to moto_server instead of an AWS account
    embedded: EmbeddedAws | None = None

    @property
    def local_state_path(self) -> str:
        """Absolute path of the bootstrap stack's state file."""
        return str(self.state_directory.resolve() / f"terraform.{self.environment.environment}.bootstrap.tfstate")


def aws_provider(
    stack: TerraformStack, environment: EnvironmentConfig, embedded: EmbeddedAws | None = None
) -> AwsProvider:
    """The AWS provider of a core stack: the environment's region and account, its tags on everything."""
    return AwsProvider(
        stack,
        "aws",
        region=environment.region,
        allowed_account_ids=[environment.account_id],
        default_tags=[AwsProviderDefaultTags(tags=dict(environment.tags))] if environment.tags else None,
        **provider_endpoint_options(embedded, check_account=True),
    )


class BootstrapStack(TerraformStack):
    """State bucket (state and S3 lock files) and access-log bucket of one environment (local backend)."""

    state_bucket: SecureBucket
    access_log_bucket: SecureBucket

    def __init__(self, scope: Construct, stack_id: str, config: BootstrapConfig) -> None:
        super().__init__(scope, stack_id)
        names = config.environment.names
        LocalBackend(self, path=config.local_state_path)
        aws_provider(self, config.environment, config.embedded)

        self.access_log_bucket = SecureBucket(
            self,
            "access-logs",
            SecureBucketConfig(
                name=names.access_log_bucket,
                expiration_days=config.access_log_retention_days,
                noncurrent_version_days=30,
                policy_statements=(
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{names.access_log_bucket}/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": config.environment.account_id}},
                    },
                ),
            ),
        )
        log_bucket = self.access_log_bucket.bucket
        skip_check(log_bucket, "CKV_AWS_145", "S3 server access logging only delivers to SSE-S3 (AES256) buckets")
        skip_check(log_bucket, "CKV_AWS_18", "this is the access-log bucket; logging it into itself would loop")
        skip_check(log_bucket, "CKV_AWS_144", "access logs are kept in-region for audit; no replica needed")
        skip_check(log_bucket, "CKV2_AWS_62", "nothing reacts to new access-log objects")

        self.state_bucket = SecureBucket(
            self,
            "state",
            SecureBucketConfig(
                name=names.state_bucket,
                access_log_bucket=self.access_log_bucket,
                noncurrent_version_days=config.state_noncurrent_version_days,
            ),
        )
        state_bucket = self.state_bucket.bucket
        skip_check(
            state_bucket,
            "CKV_AWS_145",
            "Terraform's S3 backend (encrypt = true, no kms_key_id) writes state with SSE-S3 explicitly; "
            "see the module docstring",
        )
        skip_check(state_bucket, "CKV_AWS_144", "state is versioned in-region; every stack can be re-planned from code")
        skip_check(state_bucket, "CKV2_AWS_62", "nothing reacts to state writes")

        TerraformOutput(self, "state_bucket_name", value=self.state_bucket.bucket.bucket)
        TerraformOutput(self, "access_log_bucket_name", value=self.access_log_bucket.bucket.bucket)
