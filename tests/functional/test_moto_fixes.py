"""The moto patches of local mode: the AWS behaviour each patch restores (those tests fail without the patch),
moto's own checks that must survive the patches, and a real ``terraform apply`` against a patched moto_server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from generator.terraform_setup import TerraformSetup, prepare
from local_mode import moto_fixes
from local_mode.processes import answers_http, free_port, wait_until

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


# --- S3 lifecycle configuration ----------------------------------------------------------------------------------


def put_lifecycle(s3: Any, *rules: dict[str, Any], **extra: Any) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=SOURCE_BUCKET, LifecycleConfiguration={"Rules": list(rules)}, **extra)


def read_lifecycle(s3: Any) -> dict[str, Any]:
    answer: dict[str, Any] = s3.get_bucket_lifecycle_configuration(Bucket=SOURCE_BUCKET)
    answer.pop("ResponseMetadata")
    return answer


def test_lifecycle_of_the_core_stacks_reads_back_as_put(s3: Any) -> None:
    """The shapes the core stacks put (moto 5.2.5 answered them right too): the rebuilt answer keeps them."""
    rules = [
        {
            "ID": "abort-incomplete-uploads",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        {
            "ID": "expire-noncurrent-versions",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        },
        {"ID": "expire-objects", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 365}},
    ]
    put_lifecycle(s3, *rules)

    assert read_lifecycle(s3) == {"Rules": rules, "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}


@pytest.mark.parametrize(
    "rule",
    [
        {"ID": "size", "Filter": {"ObjectSizeGreaterThan": 1000}, "Status": "Enabled", "Expiration": {"Days": 30}},
        {
            "ID": "and",
            "Filter": {
                "And": {
                    "Prefix": "p/",
                    "Tags": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}],
                    "ObjectSizeGreaterThan": 0,
                    "ObjectSizeLessThan": 1000,
                }
            },
            "Status": "Enabled",
            "Expiration": {"Days": 30},
        },
        {
            "ID": "newer-versions",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 3},
        },
    ],
    ids=["object-size", "and-with-sizes", "newer-noncurrent-versions"],
)
def test_lifecycle_rule_reads_back_with_every_field_put(s3: Any, rule: dict[str, Any]) -> None:
    put_lifecycle(s3, rule)

    # moto 5.2.5 drops the object sizes and NewerNoncurrentVersions: the provider waits 3 minutes, then fails
    assert read_lifecycle(s3)["Rules"] == [rule]


def test_lifecycle_transition_default_minimum_object_size_reads_back_as_put(s3: Any) -> None:
    rule = {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    put_lifecycle(s3, rule, TransitionDefaultMinimumObjectSize="varies_by_storage_class")

    assert read_lifecycle(s3)["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"


def test_lifecycle_still_validated_and_deleted(s3: Any) -> None:
    with pytest.raises(ClientError) as refused:
        put_lifecycle(
            s3, {"ID": "r", "Filter": {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled"}
        )
    assert refused.value.response["Error"]["Code"] == "MalformedXML"

    put_lifecycle(s3, {"ID": "r", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1}})
    s3.delete_bucket_lifecycle(Bucket=SOURCE_BUCKET)

    with pytest.raises(ClientError) as missing:
        s3.get_bucket_lifecycle_configuration(Bucket=SOURCE_BUCKET)
    assert missing.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


# --- SQS redrive policy -------------------------------------------------------------------------------------------


def test_redrive_policy_reads_back_as_compact_json_as_aws_writes_it() -> None:
    moto_fixes.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="deployments-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="deployments",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
        )["QueueUrl"]

        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]

    # moto 5.2.5: '{"deadLetterTargetArn": "...", "maxReceiveCount": 3}', a perpetual Terraform diff
    assert attributes["RedrivePolicy"] == f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":3}}'


# --- Lambda configuration -----------------------------------------------------------------------------------------

IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/generator:0.1.0"


@pytest.fixture
def lambda_client() -> Iterator[Any]:
    moto_fixes.apply()
    with mock_aws():
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="generator", AssumeRolePolicyDocument=json.dumps(trust)
        )
        client = boto3.client("lambda", region_name=REGION)
        client.role_arn = role["Role"]["Arn"]
        yield client


def create_image_function(client: Any, name: str, **extra: Any) -> None:
    client.create_function(
        FunctionName=name, Role=client.role_arn, PackageType="Image", Code={"ImageUri": IMAGE_URI}, **extra
    )


def test_lambda_answers_the_logging_config_it_was_given(lambda_client: Any) -> None:
    create_image_function(lambda_client, "generator", LoggingConfig={"LogFormat": "JSON", "LogGroup": "/broker/gen"})

    config = lambda_client.get_function_configuration(FunctionName="generator")

    # moto 5.2.5: no LoggingConfig at all, so Terraform plans to add logging_config after every apply
    assert config["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": "/broker/gen",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
    assert "ImageConfigResponse" not in config  # moto 5.2.5: an empty ImageConfig Terraform plans to remove
    assert lambda_client.get_function(FunctionName="generator")["Configuration"]["LoggingConfig"]["LogFormat"] == "JSON"


def test_lambda_without_logging_config_answers_the_aws_defaults(lambda_client: Any) -> None:
    create_image_function(lambda_client, "plain", ImageConfig={"Command": ["handler.main"]})

    config = lambda_client.get_function_configuration(FunctionName="plain")

    assert config["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    assert config["ImageConfigResponse"]["ImageConfig"]["Command"] == ["handler.main"]


def test_lambda_logging_config_update_is_answered(lambda_client: Any) -> None:
    create_image_function(lambda_client, "generator")

    updated = lambda_client.update_function_configuration(
        FunctionName="generator", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"}
    )

    assert updated["LoggingConfig"]["ApplicationLogLevel"] == "WARN"
    read = lambda_client.get_function_configuration(FunctionName="generator")["LoggingConfig"]
    assert read == {
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/generator",
        "ApplicationLogLevel": "WARN",
        "SystemLogLevel": "INFO",
    }


# --- real terraform apply against a patched moto_server -----------------------------------------------------------

APPLY_TIMEOUT_SECONDS = 180  # the lifecycle alone takes 55 s by the provider's design (10 equal reads, 5 s apart)


def small_stack(endpoint: str) -> dict[str, Any]:
    """A bucket with the core stacks' lifecycle, logging into a bucket whose policy has a Principal "*" statement."""
    policy = {"Version": "2012-10-17", "Statement": [DENY_INSECURE_TRANSPORT, LOGGING_SERVICE_PUTS]}
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {
            "aws": {
                "region": REGION,
                "access_key": "test",
                "secret_key": "test",
                "skip_credentials_validation": True,
                "skip_metadata_api_check": True,
                "skip_requesting_account_id": True,
                "s3_use_path_style": True,
                "endpoints": [{"s3": endpoint, "sts": endpoint}],
            }
        },
        "resource": {
            "aws_s3_bucket": {"logs": {"bucket": LOG_BUCKET}, "source": {"bucket": SOURCE_BUCKET}},
            "aws_s3_bucket_policy": {"logs": {"bucket": "${aws_s3_bucket.logs.id}", "policy": json.dumps(policy)}},
            "aws_s3_bucket_lifecycle_configuration": {
                "source": {
                    "bucket": "${aws_s3_bucket.source.id}",
                    "rule": [
                        {
                            "id": "abort-incomplete-uploads",
                            "status": "Enabled",
                            "filter": [{}],
                            "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}],
                        },
                        {
                            "id": "expire-noncurrent-versions",
                            "status": "Enabled",
                            "filter": [{}],
                            "noncurrent_version_expiration": [{"noncurrent_days": 30}],
                        },
                    ],
                }
            },
            "aws_s3_bucket_logging": {
                "source": {
                    "bucket": "${aws_s3_bucket.source.id}",
                    "target_bucket": "${aws_s3_bucket.logs.id}",
                    "target_prefix": f"{SOURCE_BUCKET}/",
                    "depends_on": ["aws_s3_bucket_policy.logs"],
                }
            },
        },
    }


@pytest.fixture
def offline_terraform() -> tuple[str, TerraformSetup]:
    """The terraform binary and the project's CLI configuration over an offline provider mirror, found as the
    generator finds it, or a skip saying which is missing (before moto starts)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on the PATH")
    # the project's own configuration and plugin cache: one provider copy shared with every other run
    setup = prepare()
    if setup.mirror is None:
        pytest.skip("no offline copy of hashicorp/aws (generator/terraform_setup.py found no filesystem mirror)")
    return terraform, setup


@pytest.fixture
def patched_moto_server(tmp_path: Path) -> Iterator[str]:
    """A moto_server started as local mode's launcher starts it (patches applied first), on a free port."""
    port = free_port()
    code = f"import local_mode.moto_fixes as f; f.apply(); from moto.server import main; main(['-p', '{port}'])"
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(answers_http(f"http://127.0.0.1:{port}/moto-api/"), 30, "moto_server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.e2e
@pytest.mark.xdist_group("moto-terraform")
def test_terraform_applies_lifecycle_and_logging_against_patched_moto(
    offline_terraform: tuple[str, TerraformSetup], patched_moto_server: str, tmp_path: Path
) -> None:
    terraform, setup = offline_terraform
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "main.tf.json").write_text(json.dumps(small_stack(patched_moto_server)))
    env = {
        **os.environ,
        **setup.environment(),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "HOME": str(tmp_path),
    }

    def terraform_run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        command = [terraform, *args, "-input=false", "-no-color"]
        return subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    init = terraform_run("init", timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr

    applied = terraform_run("apply", "-auto-approve", "-lock=false", timeout=APPLY_TIMEOUT_SECONDS)

    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    assert "Apply complete! Resources: 5 added" in applied.stdout
    s3 = boto3.client(
        "s3", region_name=REGION, endpoint_url=patched_moto_server, aws_access_key_id="t", aws_secret_access_key="t"
    )
    assert s3.get_bucket_logging(Bucket=SOURCE_BUCKET)["LoggingEnabled"]["TargetBucket"] == LOG_BUCKET
    rules = s3.get_bucket_lifecycle_configuration(Bucket=SOURCE_BUCKET)["Rules"]
    assert sorted(rule["ID"] for rule in rules) == ["abort-incomplete-uploads", "expire-noncurrent-versions"]


def test_a_lambda_target_moto_cannot_run_does_not_fail_the_put_nor_the_other_targets() -> None:
    moto_fixes.apply()
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.create_event_bus(Name="bus")
        for name, arn in (("to-lambda", f"arn:aws:lambda:{REGION}:123456789012:function:f"), ("to-queue", queue_arn)):
            events.put_rule(Name=name, EventBusName="bus", EventPattern=json.dumps({"source": ["shop"]}))
            events.put_targets(Rule=name, EventBusName="bus", Targets=[{"Id": "1", "Arn": arn}])

        answer = events.put_events(
            Entries=[{"EventBusName": "bus", "Source": "shop", "DetailType": "d", "Detail": "{}"}]
        )

        # as on AWS: the put succeeds, and the queue's rule delivers, whatever becomes of the Lambda target
        assert answer["FailedEntryCount"] == 0
        assert len(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])) == 1
