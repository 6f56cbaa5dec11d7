"""Portal settings read from the environment: how callers authenticate and which registry to use.

The broker's resource names come from ``broker_contract.config.RuntimeConfig`` (``BROKER_*``
variables filled from the broker stack's outputs); this module adds the portal-only knobs.
Only ``BROKER_PORTAL_AUTH`` is read at import time (it picks the authorizer); everything else is
read when the first request needs it, so tests and local mode can set it late.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broker_contract.config import Quotas, environment_policy
from broker_contract.names import is_identifier
from broker_contract.teams import TeamDirectory

MAX_BODY_BYTES = 256 * 1024
#: JSON nesting a request body may have: generous for schemas (32 schema levels) and content filters,
#: far below the depth at which recursive code (parsers, validators, DynamoDB's 32-level documents) fails.
MAX_BODY_DEPTH = 100


class AuthMode(StrEnum):
    """How a request is authenticated and attributed to a team."""

    TOKEN = "token"  # noqa: S105 - a mode name, not a secret
    COGNITO = "cognito"
    IAM = "iam"


class RegistryMode(StrEnum):
    """Where schema versions are registered besides their S3 backup."""

    AWS = "aws"
    LOCAL = "local"


def auth_mode_from_env(environ: Mapping[str, str] | None = None) -> AuthMode:
    """The authentication mode named by ``BROKER_PORTAL_AUTH`` (default ``token``)."""
    env = os.environ if environ is None else environ
    raw = env.get("BROKER_PORTAL_AUTH", AuthMode.TOKEN.value)
    try:
        return AuthMode(raw)
    except ValueError:
        raise RuntimeError(f"BROKER_PORTAL_AUTH must be one of token, cognito, iam; got {raw!r}") from None


def _teams(mapping: dict[str, str], source: str) -> dict[str, str]:
    bad = sorted(team for team in mapping.values() if not is_identifier(team))
    if bad:
        raise ValueError(f"{source}: team names {bad} are not identifiers")
    return mapping


class PortalSettings(BaseModel):
    """Portal-only settings; see the README's Portal API section for every variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_mode: AuthMode = AuthMode.TOKEN
    tokens: dict[str, str] = Field(default_factory=dict, description="bearer token -> team (token mode)")
    user_pool_arns: tuple[str, ...] = ()
    iam_teams: dict[str, str] = Field(default_factory=dict, description="role name or principal ARN -> team")
    registry_mode: RegistryMode = RegistryMode.AWS
    aws_endpoint_url: str | None = None
    #: what each team may target and which applications it owns; a team not declared may target nothing
    teams: TeamDirectory = Field(default_factory=TeamDirectory)
    quotas: Quotas = Field(default_factory=Quotas)

    @field_validator("tokens", "iam_teams")
    @classmethod
    def _team_names(cls, value: dict[str, str]) -> dict[str, str]:
        return _teams(value, "team mapping")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PortalSettings:
        """Read ``BROKER_PORTAL_*``, ``BROKER_SCHEMA_REGISTRY_MODE`` and ``BROKER_AWS_ENDPOINT_URL``.

        Teams and quotas come from ``config/<BROKER_ENVIRONMENT>.json``; the teams of the JSON file named
        by ``BROKER_PORTAL_TEAMS_FILE`` (``{"<team>": {declaration}}``) are added to (and win over) them.
        """
        env = os.environ if environ is None else environ
        tokens: dict[str, str] = {}
        tokens_file = env.get("BROKER_PORTAL_TOKENS_FILE")
        if tokens_file:
            tokens.update(json.loads(Path(tokens_file).read_text()))
        inline = env.get("BROKER_PORTAL_TOKENS")
        if inline:
            tokens.update(json.loads(inline))
        iam_teams = json.loads(env.get("BROKER_PORTAL_IAM_TEAMS", "{}"))
        pools = tuple(arn for arn in env.get("BROKER_PORTAL_USER_POOL_ARN", "").split(",") if arn.strip())
        try:
            environment = env.get("BROKER_ENVIRONMENT")
            teams, quotas = environment_policy(environment) if environment else (TeamDirectory(), Quotas())
            teams_file = env.get("BROKER_PORTAL_TEAMS_FILE")
            if teams_file:
                teams = teams.merged(TeamDirectory.load(Path(teams_file)))
            return cls(
                auth_mode=auth_mode_from_env(env),
                tokens=tokens,
                user_pool_arns=pools,
                iam_teams=iam_teams,
                registry_mode=RegistryMode(env.get("BROKER_SCHEMA_REGISTRY_MODE", RegistryMode.AWS.value)),
                aws_endpoint_url=env.get("BROKER_AWS_ENDPOINT_URL") or None,
                teams=teams,
                quotas=quotas,
            )
        except (ValidationError, ValueError, OSError) as error:
            raise RuntimeError(f"invalid portal configuration: {error}") from error
