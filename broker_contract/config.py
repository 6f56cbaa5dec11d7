"""Configuration of an environment, and the run-time configuration portal and generator share.

``EnvironmentConfig`` says where an environment lives (its name, region and account); it comes
from ``config/<environment>.json`` and can be overridden with environment variables, so no region
or account is ever written in code. ``RuntimeConfig`` is what the broker stack outputs and what the
portal and the generator read at run time: the stack declares one output per field, and the same
field names become the ``BROKER_*`` environment variables of the portal and the generator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker_contract.names import ENVIRONMENT_PATTERN, BrokerNames
from broker_contract.teams import TeamDirectory, TeamPolicy

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENV_PREFIX = "BROKER_"
#: the endpoint every AWS client of the portal and the generator uses instead of AWS's (local mode's moto_server)
ENDPOINT_URL_VARIABLE = f"{ENV_PREFIX}AWS_ENDPOINT_URL"


def variable(field: str) -> str:
    """The environment variable that carries a configuration field: ``BROKER_<FIELD>``."""
    return f"{ENV_PREFIX}{field.upper()}"


#: which environment's config/<environment>.json a command uses when none is given
ENVIRONMENT_VARIABLE = variable("environment")


def _quota(default: int, what: str, *, adjustable: bool = True) -> Any:
    maximum = None if adjustable else default
    note = "adjustable through Service Quotas" if adjustable else "fixed by AWS: may be lowered, never raised"
    return Field(default=default, ge=1, le=maximum, description=f"{what} (AWS default {default:,}; {note})")


class Quotas(BaseModel):
    """The AWS quotas that bound what the broker can create in one environment.

    Defaults are AWS's defaults; an account whose quota was raised says so in ``quotas`` of
    ``config/<env>.json``. The portal answers every request that would cross one of them with a
    409 (counts) or 400 (sizes) naming the quota, before anything is written. Counts are per bus,
    per API, per registry or per account and region as AWS counts them; the broker assumes it owns
    them alone in its account (lower the figure when other workloads share the account).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules_per_event_bus: int = _quota(300, "EventBridge rules per event bus; one per subscription")
    rules_used_by_core: int = Field(
        default=1, ge=0, description="rules on the bus the core stack makes (the archive's managed rule)"
    )
    targets_per_rule: int = _quota(5, "EventBridge targets per rule; the broker puts one", adjustable=False)
    event_pattern_characters: int = _quota(2048, "characters of one EventBridge event pattern")
    event_size_bytes: int = _quota(262_144, "bytes of one event (PutEvents entry)", adjustable=False)
    resources_per_rest_api: int = _quota(
        300, "API Gateway resources per REST API: the root, one per HTTPS event type, one per version"
    )
    usage_plans_per_account: int = _quota(300, "API Gateway usage plans per account and region; one per HTTPS version")
    api_keys_per_account: int = _quota(10_000, "API Gateway API keys per account and region; one per HTTPS version")
    schemas_per_registry: int = _quota(100, "EventBridge schemas per registry; one per event version")
    versions_per_schema: int = _quota(100, "versions of one schema; the broker allows as many versions per event type")
    api_destinations_per_account: int = _quota(
        3000, "EventBridge API destinations per account; one per HTTPS subscription"
    )
    connections_per_account: int = _quota(3000, "EventBridge connections per account; one per HTTPS subscription")
    event_buses_per_account: int = _quota(100, "EventBridge event buses per account and region")


def environment_policy(environment: str, config_dir: Path = CONFIG_DIR) -> tuple[TeamDirectory, Quotas]:
    """The ``teams`` and ``quotas`` of ``config/<environment>.json`` (none and AWS defaults without a file).

    Read on its own (without region and account) because the portal needs only these two.
    """
    path = config_dir / f"{environment}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return TeamDirectory(teams=data.get("teams", {})), Quotas.model_validate(data.get("quotas", {}))


class EnvironmentConfig(BaseModel):
    """Where one environment (``dev``, ``prod`` ...) is deployed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str = Field(pattern=ENVIRONMENT_PATTERN)
    region: str
    account_id: str = Field(pattern=r"^\d{12}$")
    tags: dict[str, str] = Field(default_factory=dict)
    #: the repository's tags are immutable, so each release of the generator image gets its own version tag
    generator_image_tag: str = Field(default="0.1.0", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    #: what each team may target and which applications it owns (see ``broker_contract.teams``)
    teams: dict[str, TeamPolicy] = Field(default_factory=dict)
    #: the AWS quotas of this environment's account, where they differ from AWS's defaults
    quotas: Quotas = Field(default_factory=Quotas)

    @field_validator("teams")
    @classmethod
    def _one_directory(cls, value: dict[str, TeamPolicy]) -> dict[str, TeamPolicy]:
        TeamDirectory(teams=value)  # team names are identifiers; an application is reserved once
        return value

    @field_validator("generator_image_tag")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if value == "latest":
            raise ValueError("'latest' can be pushed only once to an immutable repository: use a version")
        return value

    @property
    def names(self) -> BrokerNames:
        return BrokerNames(self.environment, self.region, self.account_id)

    @classmethod
    def load(
        cls, environment: str | None = None, environ: Mapping[str, str] | None = None, config_dir: Path = CONFIG_DIR
    ) -> EnvironmentConfig:
        """Read ``config/<environment>.json``; ``BROKER_ENVIRONMENT``/``_REGION``/``_ACCOUNT_ID`` override it."""
        env = os.environ if environ is None else environ
        name = environment or env.get(ENVIRONMENT_VARIABLE, "dev")
        path = config_dir / f"{name}.json"
        data: dict[str, object] = {"environment": name}
        if path.exists():
            data.update(json.loads(path.read_text()))
        for key in ("region", "account_id"):
            override = env.get(variable(key))
            if override:
                data[key] = override
        return cls.model_validate(data)


class RuntimeConfig(BaseModel):
    """Names and ARNs of the core resources, as the broker stack outputs them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    environment: str
    region: str
    account_id: str
    event_bus_name: str
    event_bus_arn: str
    catalog_table_name: str
    schema_registry_name: str
    schema_bucket_name: str
    producer_bucket_name: str
    consumer_bucket_name: str
    artifact_bucket_name: str
    state_bucket_name: str
    producer_api_id: str
    producer_api_root_resource_id: str
    producer_api_stage_name: str
    producer_api_url: str
    apigateway_events_role_arn: str
    generator_queue_url: str

    @classmethod
    def output_names(cls) -> list[str]:
        """The broker stack's output names, one per field."""
        return list(cls.model_fields)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """``{field: "BROKER_<FIELD>"}``: the environment variable that carries each field."""
        return {name: variable(name) for name in cls.model_fields}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
        """Read every field from its ``BROKER_<FIELD>`` environment variable."""
        env = os.environ if environ is None else environ
        variables = cls.variables()
        values = {name: env.get(variable) for name, variable in variables.items()}
        missing = sorted(variables[name] for name, value in values.items() if value is None)
        if missing:
            raise RuntimeError(f"missing configuration: {', '.join(missing)}")
        return cls.model_validate(values)

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, object]) -> RuntimeConfig:
        """Build from ``cdktf output --outputs-file`` JSON (``{"output": value}`` or ``{"output": {"value": v}}``)."""
        flat = {
            key: (value["value"] if isinstance(value, dict) and "value" in value else value)
            for key, value in outputs.items()
        }
        return cls.model_validate(flat)

    @classmethod
    def derived(
        cls,
        names: BrokerNames,
        producer_api_id: str = "placeholder-api-id",
        root_resource_id: str = "placeholder-root-id",
    ) -> RuntimeConfig:
        """What the broker stack outputs for ``names``, with the ids AWS assigns at deploy time given as arguments.

        For offline synthesis and tests: every name is the real one; only the producer API's ids are
        placeholders unless given.
        """
        region, account, stage = names.region, names.account_id, names.producer_api_stage
        return cls(
            environment=names.environment,
            region=region,
            account_id=account,
            event_bus_name=names.event_bus,
            event_bus_arn=f"arn:aws:events:{region}:{account}:event-bus/{names.event_bus}",
            catalog_table_name=names.catalog_table,
            schema_registry_name=names.schema_registry,
            schema_bucket_name=names.schema_bucket,
            producer_bucket_name=names.producer_bucket,
            consumer_bucket_name=names.consumer_bucket,
            artifact_bucket_name=names.artifact_bucket,
            state_bucket_name=names.state_bucket,
            producer_api_id=producer_api_id,
            producer_api_root_resource_id=root_resource_id,
            producer_api_stage_name=stage,
            producer_api_url=f"https://{producer_api_id}.execute-api.{region}.amazonaws.com/{stage}",
            apigateway_events_role_arn=f"arn:aws:iam::{account}:role/{names.apigateway_events_role}",
            generator_queue_url=f"https://sqs.{region}.amazonaws.com/{account}/{names.generator_queue}",
        )

    def to_env(self) -> dict[str, str]:
        """The ``BROKER_*`` environment variables carrying this configuration."""
        variables = self.variables()
        return {variables[name]: str(value) for name, value in self.model_dump().items()}
