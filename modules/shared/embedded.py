"""Where a stack talks to when it is applied to the embedded AWS (moto_server) instead of an AWS account.

Local mode applies the core stacks (``cdktf_stacks``) and the component stacks (``component_stacks``) with
real Terraform against moto_server. Both point their AWS provider (:func:`provider_endpoint_options`) and
their S3 backend (:func:`point_backend_at`) at it the same way, so this lives here, below both packages.
What the local variant of the broker stack leaves out is the broker stack's own business
(``cdktf_stacks.broker.LEFT_OUT_LOCALLY``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import S3Backend

#: every AWS service a core or component stack (or its S3 backend) talks to
SERVICES = (
    "apigateway",
    "logs",
    "cognitoidp",
    "dynamodb",
    "ecr",
    "events",
    "iam",
    "kms",
    "lambda",
    "pipes",
    "s3",
    "schemas",
    "secretsmanager",
    "sqs",
    "sts",
)
BACKEND_SERVICES = ("s3", "sts", "iam")


@dataclass(frozen=True)
class EmbeddedAws:
    """The embedded AWS a local variant talks to, e.g. ``EmbeddedAws("http://127.0.0.1:4566")``."""

    endpoint_url: str


def provider_endpoint_options(embedded: EmbeddedAws | None, *, check_account: bool) -> dict[str, Any]:
    """Keyword arguments for ``AwsProvider`` pointing every service at ``embedded`` (none when None).

    ``check_account`` keeps the account lookup (moto answers ``GetCallerIdentity`` with its account), which
    ``allowed_account_ids`` needs; the component stacks skip it.
    """
    from cdktf_cdktf_provider_aws.provider import AwsProviderEndpoints  # noqa: PLC0415

    if embedded is None:
        return {}
    endpoints = {("lambda_" if service == "lambda" else service): embedded.endpoint_url for service in SERVICES}
    options: dict[str, Any] = {
        "endpoints": [AwsProviderEndpoints(**endpoints)],
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
    }
    if not check_account:
        options["skip_requesting_account_id"] = True
    return options


def point_backend_at(backend: S3Backend, embedded: EmbeddedAws | None) -> None:
    """Send the S3 backend's calls (state object, lock file, credentials) to ``embedded``."""
    if embedded is None:
        return
    backend.add_override("endpoints", dict.fromkeys(BACKEND_SERVICES, embedded.endpoint_url))
    for setting in (
        "use_path_style",
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_metadata_api_check",
        "skip_region_validation",
    ):
        backend.add_override(setting, True)
