"""The bootstrap stack: state bucket, lock table and access-log bucket, with local state."""

from __future__ import annotations

import json

import pytest

from tests.functional.stacks.conftest import CONFIG, Core, ref, resources, the

pytestmark = pytest.mark.xdist_group("core-stacks")

NAMES = CONFIG.names


def bucket_part(core: Core, resource_type: str, bucket_name: str) -> dict:
    bucket_id, _ = the(core.bootstrap, "aws_s3_bucket", bucket=bucket_name)
    _, body = the(core.bootstrap, resource_type, bucket=ref("aws_s3_bucket", bucket_id, "id"))
    return body


def test_bootstrap_keeps_its_own_state_locally_per_environment_outside_the_synth_output(core: Core) -> None:
    state_file = core.state_directory.resolve() / "terraform.dev.bootstrap.tfstate"
    assert core.bootstrap["terraform"]["backend"] == {"local": {"path": str(state_file)}}


def test_provider_uses_configured_region_account_and_tags(core: Core) -> None:
    assert core.bootstrap["provider"]["aws"] == [
        {
            "region": "eu-west-1",
            "allowed_account_ids": ["123456789012"],
            "default_tags": [{"tags": {"project": "event-broker", "environment": "dev"}}],
        }
    ]


def test_state_bucket_is_versioned(core: Core) -> None:
    body = bucket_part(core, "aws_s3_bucket_versioning", NAMES.state_bucket)
    assert body["versioning_configuration"] == {"status": "Enabled"}


def test_state_bucket_is_encrypted_with_sse_s3(core: Core) -> None:
    body = bucket_part(core, "aws_s3_bucket_server_side_encryption_configuration", NAMES.state_bucket)
    assert body["rule"] == [
        {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}, "bucket_key_enabled": False}
    ]


def test_state_bucket_blocks_all_public_access(core: Core) -> None:
    body = bucket_part(core, "aws_s3_bucket_public_access_block", NAMES.state_bucket)
    assert {key: body[key] for key in body if key != "bucket"} == {
        "block_public_acls": True,
        "block_public_policy": True,
        "ignore_public_acls": True,
        "restrict_public_buckets": True,
    }


def test_state_bucket_enforces_owner_and_refuses_plain_http(core: Core) -> None:
    ownership = bucket_part(core, "aws_s3_bucket_ownership_controls", NAMES.state_bucket)
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    policy = json.loads(bucket_part(core, "aws_s3_bucket_policy", NAMES.state_bucket)["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{NAMES.state_bucket}", f"arn:aws:s3:::{NAMES.state_bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_state_bucket_logs_access_into_the_log_bucket(core: Core) -> None:
    body = bucket_part(core, "aws_s3_bucket_logging", NAMES.state_bucket)
    log_bucket_id, _ = next(
        (name, bucket)
        for name, bucket in resources(core.bootstrap, "aws_s3_bucket").items()
        if bucket["bucket"] == NAMES.access_log_bucket
    )
    policy_id, _ = next(
        (name, policy)
        for name, policy in resources(core.bootstrap, "aws_s3_bucket_policy").items()
        if policy["bucket"] == f"${{aws_s3_bucket.{log_bucket_id}.id}}"
    )
    # a reference, and after the destination's policy: S3 refuses logging into a bucket that does not let it write
    assert body["target_bucket"] == f"${{aws_s3_bucket.{log_bucket_id}.id}}"
    assert body["target_prefix"] == f"{NAMES.state_bucket}/"
    assert body["depends_on"] == [f"aws_s3_bucket_policy.{policy_id}"]


def test_access_log_bucket_accepts_s3_log_delivery_of_this_account_only(core: Core) -> None:
    policy = json.loads(bucket_part(core, "aws_s3_bucket_policy", NAMES.access_log_bucket)["policy"])
    assert policy["Statement"][1] == {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{NAMES.access_log_bucket}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }


def test_state_is_locked_with_lock_files_not_a_table(core: Core) -> None:
    # Terraform 1.11 deprecates the DynamoDB lock table; the state bucket holds the <key>.tflock files
    assert resources(core.bootstrap, "aws_dynamodb_table") == {}
    assert "lock_table_name" not in core.bootstrap["output"]
