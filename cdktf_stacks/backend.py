"""Remote state: every stack but bootstrap keeps its state in the bootstrap bucket, one key each."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import S3Backend, TerraformStack


@dataclass(frozen=True)
class StateLocation:
    """Where one stack's Terraform state lives."""

    bucket: str
    key: str
    region: str
    lock_table: str


def use_remote_state(stack: TerraformStack, location: StateLocation) -> S3Backend:
    """Configure ``stack`` to keep its state encrypted in S3 with a DynamoDB lock."""
    return S3Backend(
        stack,
        bucket=location.bucket,
        key=location.key,
        region=location.region,
        encrypt=True,
        dynamodb_table=location.lock_table,
    )
