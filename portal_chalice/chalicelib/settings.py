"""The portal's settings: the one place that names its environment variables and builds a stage's environment.

The broker's resource names come from ``broker_contract.config.RuntimeConfig`` (one ``BROKER_<FIELD>``
variable per field, filled from the broker stack's outputs); :class:`PortalVariable` names the portal's own
knobs. :class:`PortalStage` is a deployment of the portal as data: the deploy glue
(``python -m cdktf_stacks.outputs``) builds it from the core stack's outputs and local mode from what it
provisioned, and both ask it for the environment (``to_env``); :meth:`PortalSettings.from_env` reads it back.
Nothing else spells a variable name.

Only ``BROKER_PORTAL_AUTH`` is read at import time (it picks the authorizer); everything else is
read when the first request needs it, so tests and local mode can set it late. The exception is the Chalice
CLI (``chalice local``/``package``/``deploy``): ``chalicelib.auth`` checks the whole environment when it loads the
app (:func:`environment_problems`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import broker_contract
from broker_contract.config import (
    ENDPOINT_URL_VARIABLE,
    ENV_PREFIX,
    ENVIRONMENT_VARIABLE,
    Quotas,
    RuntimeConfig,
    environment_policy,
)
from broker_contract.names import is_identifier
from broker_contract.teams import TeamDirectory

MAX_BODY_BYTES = 256 * 1024
#: JSON nesting a request body may have: generous for schemas (32 schema levels) and content filters,
#: far below the depth at which recursive code (parsers, validators, DynamoDB's 32-level documents) fails.
MAX_BODY_DEPTH = 100


class PortalVariable(StrEnum):
    """The portal's own environment variables (the broker's resource names are ``RuntimeConfig``'s)."""

    AUTH = "BROKER_PORTAL_AUTH"
    TOKENS_FILE = "BROKER_PORTAL_TOKENS_FILE"
    TOKENS = "BROKER_PORTAL_TOKENS"
    USER_POOL_ARN = "BROKER_PORTAL_USER_POOL_ARN"
    IAM_TEAMS = "BROKER_PORTAL_IAM_TEAMS"
    TEAMS_FILE = "BROKER_PORTAL_TEAMS_FILE"
    SCHEMA_REGISTRY_MODE = "BROKER_SCHEMA_REGISTRY_MODE"
    #: shared with the generator, so the contract names it
    AWS_ENDPOINT_URL = ENDPOINT_URL_VARIABLE


#: the portal's Chalice project file, whose stages the deploy glue fills (see :meth:`PortalStage.chalice_stage`)
CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
#: the broker stack's outputs the portal's stage takes besides ``RuntimeConfig``'s
PORTAL_ROLE_OUTPUT = "portal_role_arn"
USER_POOL_OUTPUT = "portal_user_pool_arn"
#: a ``${NAME}`` left where a value belongs (Chalice substitutes nothing: such a value reaches the Lambda as is)
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


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
    raw = env.get(PortalVariable.AUTH, AuthMode.TOKEN.value)
    try:
        return AuthMode(raw)
    except ValueError:
        modes = ", ".join(mode.value for mode in AuthMode)
        raise RuntimeError(f"{PortalVariable.AUTH} must be one of {modes}; got {raw!r}") from None


def user_pool_arns_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The Cognito user pool ARNs of ``BROKER_PORTAL_USER_POOL_ARN`` (comma-separated)."""
    env = os.environ if environ is None else environ
    return tuple(arn.strip() for arn in env.get(PortalVariable.USER_POOL_ARN, "").split(",") if arn.strip())


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
        tokens_file = env.get(PortalVariable.TOKENS_FILE)
        if tokens_file:
            tokens.update(json.loads(Path(tokens_file).read_text()))
        inline = env.get(PortalVariable.TOKENS)
        if inline:
            tokens.update(json.loads(inline))
        iam_teams = json.loads(env.get(PortalVariable.IAM_TEAMS, "{}"))
        try:
            environment = env.get(ENVIRONMENT_VARIABLE)
            teams, quotas = environment_policy(environment) if environment else (TeamDirectory(), Quotas())
            teams_file = env.get(PortalVariable.TEAMS_FILE)
            if teams_file:
                teams = teams.merged(TeamDirectory.load(Path(teams_file)))
            return cls(
                auth_mode=auth_mode_from_env(env),
                tokens=tokens,
                user_pool_arns=user_pool_arns_from_env(env),
                iam_teams=iam_teams,
                registry_mode=RegistryMode(env.get(PortalVariable.SCHEMA_REGISTRY_MODE, RegistryMode.AWS.value)),
                aws_endpoint_url=env.get(PortalVariable.AWS_ENDPOINT_URL) or None,
                teams=teams,
                quotas=quotas,
            )
        except (ValidationError, ValueError, OSError) as error:
            raise RuntimeError(f"invalid portal configuration: {error}") from error


class StageError(ValueError):
    """The broker stack's outputs cannot configure a portal stage; the message says which output is wrong."""


class PortalStage(BaseModel):
    """One deployment of the portal as data: the core's resource names plus the portal's own knobs.

    :meth:`to_env` is its environment (a knob left at its default is left out: absent means default);
    :meth:`PortalSettings.from_env` and ``RuntimeConfig.from_env`` read that environment back.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: RuntimeConfig
    auth_mode: AuthMode = AuthMode.TOKEN
    user_pool_arns: tuple[str, ...] = ()
    iam_teams: dict[str, str] = Field(default_factory=dict)
    tokens_file: Path | None = None
    teams_file: Path | None = None
    registry_mode: RegistryMode = RegistryMode.AWS
    aws_endpoint_url: str | None = None
    #: the role the portal's Lambda runs as (the broker stack's ``portal_role_arn``); None: not deployed to AWS
    role_arn: str | None = None

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> PortalStage:
        """The stage the broker stack's outputs describe: Cognito when they carry the portal's user pool."""
        try:
            runtime = RuntimeConfig.from_outputs(outputs)
        except ValidationError as error:
            missing = sorted(".".join(str(part) for part in problem["loc"]) for problem in error.errors())
            raise StageError(f"broker outputs lack or mistype: {', '.join(missing)}") from error
        role_arn = outputs.get(PORTAL_ROLE_OUTPUT)
        if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
            raise StageError(f"broker output {PORTAL_ROLE_OUTPUT!r} must be the portal role's ARN, got {role_arn!r}")
        pool = outputs.get(USER_POOL_OUTPUT)
        if isinstance(pool, str) and pool.startswith("arn:"):
            # the broker stack's user pool authenticates the portal's users; their team is a claim of the pool
            return cls(runtime=runtime, role_arn=role_arn, auth_mode=AuthMode.COGNITO, user_pool_arns=(pool,))
        return cls(runtime=runtime, role_arn=role_arn)

    def to_env(self) -> dict[str, str]:
        """The stage's environment variables."""
        env = self.runtime.to_env()
        if self.auth_mode is not AuthMode.TOKEN:
            env[PortalVariable.AUTH] = self.auth_mode.value
        if self.user_pool_arns:
            env[PortalVariable.USER_POOL_ARN] = ",".join(self.user_pool_arns)
        if self.iam_teams:
            env[PortalVariable.IAM_TEAMS] = json.dumps(self.iam_teams, sort_keys=True)
        if self.tokens_file is not None:
            env[PortalVariable.TOKENS_FILE] = str(self.tokens_file)
        if self.teams_file is not None:
            env[PortalVariable.TEAMS_FILE] = str(self.teams_file)
        if self.registry_mode is not RegistryMode.AWS:
            env[PortalVariable.SCHEMA_REGISTRY_MODE] = self.registry_mode.value
        if self.aws_endpoint_url:
            env[PortalVariable.AWS_ENDPOINT_URL] = self.aws_endpoint_url
        return env

    def chalice_stage(self) -> dict[str, Any]:
        """What ``stages.<stage>`` of the Chalice config holds for this stage (the role when there is one)."""
        stage: dict[str, Any] = {"environment_variables": self.to_env()}
        if self.role_arn is not None:
            stage |= {"iam_role_arn": self.role_arn, "manage_iam_role": False}
        return stage


def environment_problems(environ: Mapping[str, str]) -> list[str]:
    """What keeps ``environ`` from serving a request: unresolved ``${...}`` placeholders and missing variables.

    Empty when the portal can run; each entry names one variable and what it needs.
    """
    problems = [
        f"{name}={value!r} is an unresolved placeholder"
        for name, value in sorted(environ.items())
        if name.startswith(ENV_PREFIX) and PLACEHOLDER.search(value)
    ]
    missing = [variable for variable in RuntimeConfig.variables().values() if not environ.get(variable)]
    if missing:
        problems.append(f"missing the broker's resource names (broker stack outputs): {', '.join(missing)}")
    try:
        mode = auth_mode_from_env(environ)
    except RuntimeError as error:
        return [*problems, str(error)]
    if mode is AuthMode.COGNITO and not user_pool_arns_from_env(environ):
        problems.append(f"{PortalVariable.AUTH}=cognito needs {PortalVariable.USER_POOL_ARN}")
    if mode is AuthMode.TOKEN and not (environ.get(PortalVariable.TOKENS_FILE) or environ.get(PortalVariable.TOKENS)):
        problems.append(
            f"{PortalVariable.AUTH}=token (the default) needs {PortalVariable.TOKENS_FILE} (a JSON file "
            f'{{"<token>": "<team>"}}) or {PortalVariable.TOKENS} (the same JSON): without them every request gets 401'
        )
    return problems


def vendored_copy_problem(package_file: str | None = None) -> str | None:
    """Why the imported ``broker_contract`` is a stale vendored copy shadowing the source, or ``None``.

    Chalice puts ``<project>/vendor`` first on ``sys.path`` (``chalice local``), so a copy an older packaging
    left in ``portal_chalice/vendor/`` would silently replace the repository's ``broker_contract``. In the
    Lambda bundle the copy sits at the bundle's root, and the packaging project under ``build/`` has no
    source beside it: only a ``vendor/`` copy next to the source is refused.
    """
    location = Path(package_file or broker_contract.__file__).resolve().parent
    vendor = location.parent
    source = vendor.parent.parent / location.name
    if vendor.name == "vendor" and (source / "__init__.py").is_file():
        return (
            f"{location} shadows the source {source}: it is a copy an older packaging left in the source tree. "
            f"Delete {vendor} (packaging now vendors into build/, never into the source tree)"
        )
    return None


_stale_copy = vendored_copy_problem()
if _stale_copy is not None:
    raise RuntimeError(_stale_copy)
