"""What every component stack shares: its AWS provider, its S3 state, its tags and the names it derives.

``producer`` and ``consumer`` import this module; it imports neither of them (``dispatch`` chooses between
them), so the component stacks have no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdktf import S3Backend, TerraformStack

from broker_contract.arns import arn_partition
from broker_contract.config import RuntimeConfig
from broker_contract.names import BrokerNames
from modules.shared.backend import StateLocation, use_remote_state
from modules.shared.embedded import EmbeddedAws, point_backend_at, provider_endpoint_options

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider

MANAGED_BY = "event-broker"


@dataclass(frozen=True)
class StackOptions:
    """How to build a component stack beyond its deployment file.

    ``endpoint_url`` (local mode) points the AWS provider and the S3 backend at moto_server.
    """

    endpoint_url: str | None = None


def broker_names(runtime: RuntimeConfig) -> BrokerNames:
    """The names of the environment ``runtime`` describes."""
    return BrokerNames(runtime.environment, runtime.region, runtime.account_id)


def default_tags(environment: str, component_id: str) -> dict[str, str]:
    """Tags on every resource of a component; no deployment id, so identical deployments give no diff."""
    return {"environment": environment, "component": component_id, "managed-by": MANAGED_BY}


def configure_component_stack(
    stack: TerraformStack, runtime: RuntimeConfig, component_id: str, state_key: str, options: StackOptions
) -> tuple[AwsProvider, S3Backend]:
    """Give ``stack`` its AWS provider and its S3 state, both pointed at ``options.endpoint_url`` if set."""
    # imported here, after ``modules`` (imported above) switched the provider package to per-resource imports
    from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags  # noqa: PLC0415

    embedded = EmbeddedAws(options.endpoint_url) if options.endpoint_url else None
    provider = AwsProvider(
        stack,
        "aws",
        region=runtime.region,
        default_tags=[AwsProviderDefaultTags(tags=default_tags(runtime.environment, component_id))],
        **provider_endpoint_options(embedded, check_account=False),
    )
    backend = use_remote_state(
        stack, StateLocation(bucket=runtime.state_bucket_name, key=state_key, region=runtime.region)
    )
    point_backend_at(backend, embedded)
    return provider, backend


def component_boundary_arn(runtime: RuntimeConfig) -> str:
    """ARN of the permissions boundary (a managed policy of the broker stack) every component role carries."""
    policy = broker_names(runtime).component_boundary_policy
    return f"arn:{arn_partition(runtime.event_bus_arn)}:iam::{runtime.account_id}:policy/{policy}"


def role_arn_of(runtime: RuntimeConfig, role_name: str) -> str:
    """ARN of a role of the broker's account (component roles have no path)."""
    return f"arn:{arn_partition(runtime.event_bus_arn)}:iam::{runtime.account_id}:role/{role_name}"
