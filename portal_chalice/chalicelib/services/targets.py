"""Which targets and secrets a team may use: its declaration in configuration, nothing else.

The generator wires whatever a deployment file names (it adds Lambda permissions and reads
secrets with the broker's own rights), so the portal is where a team is kept to its own
resources. A subscription is refused with 403, naming the rule, unless every ARN's account is
among the team's ``accounts`` and its name matches one of the team's patterns, and the URL's host
(and an OAuth token URL's host) matches one of its ``https_hosts``. A team that declared nothing
may target nothing; the message says where to declare it. See docs/security.md.
"""

from __future__ import annotations

from broker_contract.arns import arn_account
from broker_contract.models import Consumer, HttpsConsumer, LambdaConsumer, OAuthClientCredentials
from broker_contract.teams import TeamDirectory, TeamPolicy, matches
from chalicelib.errors import ApiError, FieldProblem


def _refusal(message: str, field: str, rule: str) -> ApiError:
    return ApiError(message, (FieldProblem(field, rule),), 403, "forbidden")


def _shown(patterns: tuple[str, ...]) -> str:
    return ", ".join(patterns) if patterns else "none declared"


class TargetPolicy:
    """Checks a subscription's target and secret against the subscribing team's declaration."""

    def __init__(self, directory: TeamDirectory, environment: str) -> None:
        self.directory = directory
        self.environment = environment

    def _where(self, team: str, key: str) -> str:
        return f"teams.{team}.{key} in config/{self.environment}.json (or BROKER_PORTAL_TEAMS_FILE)"

    def check(self, team: str, consumer: Consumer) -> None:
        """Nothing when ``team`` may deliver to ``consumer``; otherwise the 403 naming the rule it breaks."""
        policy = self.directory.policy(team)
        if policy is None:
            rule = (
                f"team {team} declares no targets: add 'teams': {{'{team}': {{'accounts': [...], "
                "'lambda_functions': [...], 'sqs_queues': [...], 'secrets': [...], 'https_hosts': [...]}}}} "
                f"to config/{self.environment}.json or to the file named by BROKER_PORTAL_TEAMS_FILE"
            )
            raise _refusal(f"team {team} may not subscribe any target yet: {rule}", "connection_string", rule)
        if isinstance(consumer, HttpsConsumer):
            self._host(team, policy, consumer.connection_string.host or "", "connection_string")
            if consumer.auth is not None:
                self._arn(team, policy, consumer.auth.secret_arn, "auth.secret_arn", key="secrets", kind="secret")
                if isinstance(consumer.auth, OAuthClientCredentials):
                    self._host(team, policy, consumer.auth.token_url.host or "", "auth.token_url")
        elif isinstance(consumer, LambdaConsumer):
            self._arn(
                team, policy, consumer.connection_string, "connection_string", key="lambda_functions", kind="function"
            )
        else:
            self._arn(team, policy, consumer.connection_string, "connection_string", key="sqs_queues", kind="queue")

    def _arn(self, team: str, policy: TeamPolicy, arn: str, field: str, *, key: str, kind: str) -> None:
        account = arn_account(arn)
        if account not in policy.accounts:
            rule = f"the {kind}'s account must be one of {self._where(team, 'accounts')}: {_shown(policy.accounts)}"
            raise _refusal(f"team {team} may not target account {account} ({arn}): {rule}", field, rule)
        # function:<name>[:qualifier], <queue>, secret:<name>: the name follows the account and the resource type
        parts = arn.split(":")
        name = parts[5] if kind == "queue" else parts[6]
        patterns: tuple[str, ...] = getattr(policy, key)
        if not matches(name, patterns):
            rule = f"the {kind} name must match one of {self._where(team, key)}: {_shown(patterns)}"
            raise _refusal(f"team {team} may not target {kind} {name} ({arn}): {rule}", field, rule)

    def _host(self, team: str, policy: TeamPolicy, host: str, field: str) -> None:
        if not matches(host.lower(), policy.https_hosts):
            rule = f"the host must match one of {self._where(team, 'https_hosts')}: {_shown(policy.https_hosts)}"
            raise _refusal(f"team {team} may not send events to host {host}: {rule}", field, rule)
