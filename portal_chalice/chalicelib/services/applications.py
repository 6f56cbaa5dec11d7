"""Producing applications belong to one team: the one configuration names, else the first to register one.

An event's ``application`` becomes the EventBridge ``source`` consumers filter on, so another team
registering events under it could impersonate its producer. Configuration (``applications`` of a
team's declaration) reserves an application; otherwise the first event registered under it claims
it for the registering team (a claim item written in the same transaction). Events registered
before claims existed count too: their owner is the application's owner.
"""

from __future__ import annotations

from datetime import datetime

from broker_contract.catalog import BY_APPLICATION
from broker_contract.teams import TeamDirectory
from chalicelib.aws.catalog import CatalogRepository, Write
from chalicelib.aws.conflicts import ApplicationTaken
from chalicelib.aws.guards import CatalogGuards
from chalicelib.errors import ApiError, FieldProblem
from chalicelib.records import application_partition


def _refusal(application: str, owner: str, why: str) -> ApiError:
    rule = f"application {application} belongs to team {owner} ({why}); only it registers events under it"
    return ApiError(
        f"team may not register events under application {application!r}: {rule}",
        (FieldProblem("application", rule),),
        403,
        "forbidden",
    )


class ApplicationOwnership:
    """Decides who may register events under an application, and claims it for the first team."""

    def __init__(
        self, catalog: CatalogRepository, guards: CatalogGuards, directory: TeamDirectory, environment: str
    ) -> None:
        self.catalog = catalog
        self.guards = guards
        self.directory = directory
        self.environment = environment

    def claim(self, team: str, application: str, at: datetime) -> list[Write]:
        """403 unless ``team`` may use ``application``; else the claim write for the event's transaction.

        The claim loses with ``ApplicationTaken`` when another team claimed it meanwhile: see ``refusal``.
        """
        reserved = self.directory.application_owner(application)
        if reserved is not None:
            if reserved != team:
                raise _refusal(
                    application, reserved, f"teams.{reserved}.applications in config/{self.environment}.json"
                )
            return []
        owner = self.guards.application_owner(application)
        if owner is None:
            # events registered before claims existed: their owner holds the application
            earlier = self.catalog.list_page(BY_APPLICATION, application_partition(application), 1, None)
            owner = str(earlier.items[0]["owner"]) if earlier.items else None
        if owner is not None and owner != team:
            raise _refusal(application, owner, "it registered the first event under it")
        return [self.guards.claim_application(application, team, at)]

    def refusal(self, taken: ApplicationTaken) -> ApiError:
        """The 403 for a claim that lost to another team's concurrent first event."""
        return _refusal(taken.application, taken.owner or "another team", "it registered the first event under it")
