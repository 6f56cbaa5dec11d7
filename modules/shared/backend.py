"""Remote state: every stack but bootstrap keeps its state in the bootstrap bucket, one key each.

Shared by the broker stack (``cdktf_stacks``) and every component stack (``component_stacks``).

Locking uses S3 itself (``use_lockfile``: a ``<key>.tflock`` object written with ``If-None-Match``), which
Terraform 1.11 recommends over the deprecated DynamoDB lock table; so the state needs nothing but its bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import S3Backend, TerraformStack


@dataclass(frozen=True)
class StateLocation:
    """Where one stack's Terraform state lives."""

    bucket: str
    key: str
    region: str


def use_remote_state(stack: TerraformStack, location: StateLocation) -> S3Backend:
    """Configure ``stack`` to keep its state encrypted in S3, locked with an S3 lock file."""
    backend = S3Backend(stack, bucket=location.bucket, key=location.key, region=location.region, encrypt=True)
    # cdktf 0.21's typed S3 backend config predates the setting
    backend.add_override("use_lockfile", True)
    return backend
