"""The local variant of the core stacks: the same stacks, applied with Terraform to the embedded AWS (moto_server).

Local mode (``make demo``) applies the bootstrap and broker stacks with real Terraform against moto_server.
The variant differs from what an AWS account gets in two ways only, both decided here:

- where the provider and the S3 backend talk to (:func:`provider_endpoint_options`, :func:`point_backend_at`);
- the resources the embedded AWS cannot hold or run, left out with the reason in :data:`LEFT_OUT_LOCALLY`
  (outputs that named them keep their derived names, so the run-time configuration stays complete).
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

#: construct -> why the local variant of the broker stack leaves it out
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


@dataclass(frozen=True)
class EmbeddedAws:
    """The embedded AWS a local variant talks to, e.g. ``EmbeddedAws("http://127.0.0.1:4566")``."""

    endpoint_url: str

    def leaves_out(self, construct: str) -> bool:
        """True when the local variant leaves ``construct`` (a key of :data:`LEFT_OUT_LOCALLY`) out."""
        return construct in LEFT_OUT_LOCALLY


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
