"""The moto patches of local mode: each test asserts the AWS behaviour a patch restores (it fails without it)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_mode import moto_fixes

REGION = "eu-west-1"
LOG_BUCKET = "access-log-target"
SOURCE_BUCKET = "logged-source"

DENY_INSECURE_TRANSPORT = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{LOG_BUCKET}", f"arn:aws:s3:::{LOG_BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
LOGGING_SERVICE_PUTS = {
    "Sid": "S3ServerAccessLogs",
    "Effect": "Allow",
    "Principal": {"Service": "logging.s3.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
    "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
}


@pytest.fixture
def s3() -> Iterator[Any]:
    moto_fixes.apply()
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in (LOG_BUCKET, SOURCE_BUCKET):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def put_policy(s3: Any, *statements: dict[str, Any]) -> None:
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def enable_logging(s3: Any) -> None:
    s3.put_bucket_logging(
        Bucket=SOURCE_BUCKET,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": f"{SOURCE_BUCKET}/"}},
    )


# --- the guard ----------------------------------------------------------------------------------------------------


def test_every_patch_fits_the_installed_moto() -> None:
    # a fresh interpreter, as moto_server's: every guard runs there, whatever this process already patched
    code = "import local_mode.moto_fixes as f; f.apply(); f.apply(); print(len(f.PATCHES))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(moto_fixes.PATCHES))


def test_a_patch_whose_target_moved_fails_loudly() -> None:
    class Moved:
        def other(self) -> None: ...

    with pytest.raises(moto_fixes.MotoFixError, match=r"Moved\._log_permissions_enabled_policy is gone"):
        moto_fixes._require(Moved, "_log_permissions_enabled_policy")

    class Changed:
        @staticmethod
        def check(bucket: Any) -> bool:
            return bool(bucket)

    with pytest.raises(moto_fixes.MotoFixError, match="no longer takes"):
        moto_fixes._require(Changed, "check", ("target_bucket", "target_prefix"))


# --- PutBucketLogging ---------------------------------------------------------------------------------------------


def test_logging_into_a_bucket_whose_policy_has_a_principal_star_statement(s3: Any) -> None:
    put_policy(s3, DENY_INSECURE_TRANSPORT, LOGGING_SERVICE_PUTS)

    enable_logging(s3)  # moto 5.2.5: AttributeError ('str' object has no attribute 'get'), a 500 in moto_server

    assert s3.get_bucket_logging(Bucket=SOURCE_BUCKET)["LoggingEnabled"] == {
        "TargetBucket": LOG_BUCKET,
        "TargetPrefix": f"{SOURCE_BUCKET}/",
    }


@pytest.mark.parametrize(
    "grant",
    [
        {**LOGGING_SERVICE_PUTS, "Principal": {"Service": ["logging.s3.amazonaws.com", "delivery.logs.amazonaws.com"]}},
        {**LOGGING_SERVICE_PUTS, "Action": ["s3:PutObject", "s3:PutObjectAcl"]},
        {**LOGGING_SERVICE_PUTS, "Action": "s3:Put*"},
        {**LOGGING_SERVICE_PUTS, "Resource": [f"arn:aws:s3:::{LOG_BUCKET}/*"]},
    ],
    ids=["service-list", "action-list", "action-wildcard", "resource-list"],
)
def test_logging_grant_written_in_any_iam_grammar(s3: Any, grant: dict[str, Any]) -> None:
    put_policy(s3, DENY_INSECURE_TRANSPORT, grant)

    enable_logging(s3)

    assert s3.get_bucket_logging(Bucket=SOURCE_BUCKET)["LoggingEnabled"]["TargetBucket"] == LOG_BUCKET


def test_logging_into_a_bucket_that_grants_nothing_is_still_refused(s3: Any) -> None:
    put_policy(s3, DENY_INSECURE_TRANSPORT, {**LOGGING_SERVICE_PUTS, "Effect": "Deny"})

    with pytest.raises(ClientError) as refused:
        enable_logging(s3)

    assert refused.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"


# --- bucket policy conditions -------------------------------------------------------------------------------------


def test_objects_of_a_bucket_that_denies_insecure_transport_are_readable_and_writable(s3: Any) -> None:
    put_policy(s3, DENY_INSECURE_TRANSPORT)

    s3.put_object(Bucket=LOG_BUCKET, Key="state/broker.tfstate", Body=b"{}")  # moto 5.2.5: 403

    assert s3.head_object(Bucket=LOG_BUCKET, Key="state/broker.tfstate")["ContentLength"] == 2
    assert s3.get_object(Bucket=LOG_BUCKET, Key="state/broker.tfstate")["Body"].read() == b"{}"


def test_an_unconditional_deny_still_denies(s3: Any) -> None:
    put_policy(s3, {key: value for key, value in DENY_INSECURE_TRANSPORT.items() if key != "Condition"})

    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=LOG_BUCKET, Key="k", Body=b"x")

    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
