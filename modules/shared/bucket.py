"""A private, encrypted, TLS-only S3 bucket: the one way the broker creates buckets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from modules.shared.checkov import skip_check

PolicyStatement = dict[str, Any]


def bucket_arn(name: str) -> str:
    """ARN of the bucket called ``name`` (bucket ARNs carry neither region nor account)."""
    return f"arn:aws:s3:::{name}"


def tls_only_statement(name: str) -> PolicyStatement:
    """Bucket policy statement refusing every request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn(name), f"{bucket_arn(name)}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass(frozen=True)
class SecureBucketConfig:
    """What differs between the broker's buckets.

    ``kms_key_arn`` selects SSE-KMS with that key (and an S3 bucket key, so KMS is called once per
    object batch, not per object); without it the bucket uses SSE-S3 (AES256), which is what S3
    server access logging requires of its destination. ``access_log_bucket`` turns on server access
    logging into that bucket under ``<name>/``: a bucket name when the destination is in another, already
    applied stack; a ``SecureBucket`` of the same stack, so logging is set up only once that bucket and its
    policy (which lets the logging service write) exist: S3 refuses a destination without it.
    ``policy_statements`` are added to the TLS-only statement every bucket gets. ``expiration_days``
    deletes current objects after that many days
    (logs, artifacts); noncurrent versions are always expired after ``noncurrent_version_days``.
    """

    name: str
    versioned: bool = True
    kms_key_arn: str | None = None
    access_log_bucket: str | SecureBucket | None = None
    noncurrent_version_days: int = 90
    expiration_days: int | None = None
    policy_statements: tuple[PolicyStatement, ...] = field(default_factory=tuple)


class SecureBucket(Construct):
    """An S3 bucket with versioning, default encryption, all public access blocked, owner-enforced
    ownership (ACLs disabled), a TLS-only bucket policy, a lifecycle and optional access logging.

    ``arn`` and ``name`` are literal strings (not tokens), so policies that mention the bucket stay
    readable in the synthesized JSON.
    """

    bucket: S3Bucket
    policy: S3BucketPolicy
    public_access_block: S3BucketPublicAccessBlock
    name: str
    arn: str

    def __init__(self, scope: Construct, construct_id: str, config: SecureBucketConfig) -> None:
        super().__init__(scope, construct_id)
        self.name = config.name
        self.arn = bucket_arn(config.name)
        self.bucket = S3Bucket(self, "bucket", bucket=config.name)
        bucket_id = self.bucket.id
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(
                status="Enabled" if config.versioned else "Suspended"
            ),
        )
        by_default = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=config.kms_key_arn
            )
            if config.kms_key_arn
            else S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default,
                    bucket_key_enabled=config.kms_key_arn is not None,
                )
            ],
        )
        self.public_access_block = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        self.policy = S3BucketPolicy(
            self,
            "policy",
            bucket=bucket_id,
            policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [tls_only_statement(config.name), *config.policy_statements]}
            ),
            # S3 refuses a bucket policy while the public access block is being written
            depends_on=[self.public_access_block],
        )
        rules = [
            S3BucketLifecycleConfigurationRule(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty: every object
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                ],
            ),
            S3BucketLifecycleConfigurationRule(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty: every object
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=config.noncurrent_version_days
                    )
                ],
            ),
        ]
        if config.expiration_days is not None:
            rules.append(
                S3BucketLifecycleConfigurationRule(
                    id="expire-objects",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty: every object
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=config.expiration_days)],
                )
            )
        lifecycle = S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=rules)
        skip_check(
            lifecycle,
            "CKV_AWS_300",
            "the abort-incomplete-uploads rule has an empty filter (every object); checkov's terraform_json "
            "parser adds line markers to empty blocks and reads it as a filtered rule",
        )
        destination = config.access_log_bucket
        if isinstance(destination, SecureBucket):
            S3BucketLoggingA(
                self,
                "logging",
                bucket=bucket_id,
                target_bucket=destination.bucket.id,
                target_prefix=f"{config.name}/",
                depends_on=[destination.policy],
            )
        elif destination is not None:
            S3BucketLoggingA(
                self, "logging", bucket=bucket_id, target_bucket=destination, target_prefix=f"{config.name}/"
            )
