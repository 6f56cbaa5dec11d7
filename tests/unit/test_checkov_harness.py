"""The checkov harness fails on an unexplained finding and accepts one explained by an inline skip."""

from __future__ import annotations

from pathlib import Path

import cdktf
import pytest

from modules.shared.checkov import skip_check  # importing modules first makes provider imports lazy
from tests.support.checkov import scan

pytestmark = pytest.mark.checkov

#: what checkov 3.1 reports on a bare aws_s3_bucket: attribute checks (CKV_) and graph checks (CKV2_)
BARE_BUCKET_FAILURES = {
    "CKV_AWS_18",
    "CKV_AWS_21",
    "CKV_AWS_144",
    "CKV_AWS_145",
    "CKV2_AWS_6",
    "CKV2_AWS_61",
    "CKV2_AWS_62",
}


@pytest.fixture(scope="module")
def findings() -> list[tuple[str, str]]:
    from cdktf_cdktf_provider_aws.provider import AwsProvider  # noqa: PLC0415  (after the lazy-provider shim)
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket  # noqa: PLC0415  (after the lazy-provider shim)

    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "harness")
    AwsProvider(stack, "aws", region="eu-west-1")
    S3Bucket(stack, "unexplained", bucket="harness-unexplained")
    explained = S3Bucket(stack, "explained", bucket="harness-explained")
    for check_id in sorted(BARE_BUCKET_FAILURES):
        skip_check(explained, check_id, "synthetic bucket of the harness test, skipped on purpose")
    outdir = Path(cdktf.Testing.full_synth(stack))
    return [(finding.check_id, finding.resource.rsplit(".", 1)[-1]) for finding in scan(outdir)]


def test_unexplained_failures_are_reported(findings: list[tuple[str, str]]) -> None:
    assert {check_id for check_id, resource in findings if resource == "unexplained"} == BARE_BUCKET_FAILURES


def test_failures_with_an_inline_skip_are_accepted(findings: list[tuple[str, str]]) -> None:
    assert [finding for finding in findings if finding[1] != "unexplained"] == []


def test_a_skip_needs_a_real_reason() -> None:
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket  # noqa: PLC0415  (after the lazy-provider shim)

    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "reasons")
    bucket = S3Bucket(stack, "bucket", bucket="harness-reasons")
    with pytest.raises(ValueError, match="needs a real reason"):
        skip_check(bucket, "CKV_AWS_21", "because")
    with pytest.raises(ValueError, match="not a checkov check id"):
        skip_check(bucket, "versioning", "a perfectly good reason")
