"""What each team may target: the accounts, functions, queues, secrets and hosts it declared.

A team declares its targets in the environment's configuration (``teams`` in ``config/<env>.json``,
and/or the JSON file named by ``BROKER_PORTAL_TEAMS_FILE``). The portal refuses, with 403 naming
the rule, any subscription whose target or secret is not covered, and any team with no declaration.
Name patterns are shell-style globs (``billing-*``, an exact name, ``*``) matched case-sensitively on
the resource's name (function name, queue name, secret name); hosts are globs on the URL's host
(``hooks.example.com``, ``*.example.com``). ``applications`` reserves producing applications: only
that team may register events under them (others are claimed by the team that registers them first).
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from broker_contract.names import IDENTIFIER_MAX_LENGTH, IDENTIFIER_PATTERN

AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
NamePattern = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9/_+=.@*-]+$")]
HostPattern = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")]
TeamName = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=IDENTIFIER_MAX_LENGTH)]


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    """True when ``name`` matches one of the glob ``patterns``."""
    return any(fnmatchcase(name, pattern) for pattern in patterns)


class TeamPolicy(BaseModel):
    """One team's declaration; an empty list allows nothing of that kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: tuple[AccountId, ...] = Field(
        default=(), description="AWS accounts whose functions, queues and secrets the team may target"
    )
    lambda_functions: tuple[NamePattern, ...] = Field(default=(), description="globs on Lambda function names")
    sqs_queues: tuple[NamePattern, ...] = Field(default=(), description="globs on SQS queue names")
    secrets: tuple[NamePattern, ...] = Field(default=(), description="globs on Secrets Manager secret names")
    https_hosts: tuple[HostPattern, ...] = Field(default=(), description="hosts of HTTPS endpoints and token URLs")
    applications: tuple[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)], ...] = Field(
        default=(), description="producing applications reserved to this team"
    )


class TeamDirectory(BaseModel):
    """Every team's declaration in one environment (``{"teams": {"<team>": {...}}}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: dict[TeamName, TeamPolicy] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _applications_have_one_owner(self) -> TeamDirectory:
        owners: dict[str, str] = {}
        for team, policy in self.teams.items():
            for application in policy.applications:
                if owners.setdefault(application, team) != team:
                    raise ValueError(
                        f"application {application!r} is reserved twice: by {owners[application]} and by {team}"
                    )
        return self

    def policy(self, team: str) -> TeamPolicy | None:
        """The team's declaration, or ``None`` when it declared nothing."""
        return self.teams.get(team)

    def application_owner(self, application: str) -> str | None:
        """The team configuration reserves ``application`` to, if any."""
        for team, policy in self.teams.items():
            if application in policy.applications:
                return team
        return None

    def merged(self, other: TeamDirectory) -> TeamDirectory:
        """This directory with ``other``'s teams added (a team in both takes ``other``'s declaration)."""
        return TeamDirectory(teams={**self.teams, **other.teams})

    @classmethod
    def load(cls, path: Path) -> TeamDirectory:
        """Read a teams file: ``{"<team>": {declaration}}``."""
        return cls(teams=_TEAMS_ADAPTER.validate_python(json.loads(path.read_text())))


_TEAMS_ADAPTER: TypeAdapter[dict[str, TeamPolicy]] = TypeAdapter(dict[TeamName, TeamPolicy])
