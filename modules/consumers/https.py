"""HTTPS consumer: the rule POSTs to the subscriber's endpoint through an EventBridge API destination.

Secrets never enter the synthesized file or the Terraform state: the connection is created with
fixed placeholder credentials and Terraform ignores its ``auth_parameters`` afterwards; the
generator copies the real values from Secrets Manager into the connection after apply, and only
then enables the rule, which the stack creates disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_event_api_destination import CloudwatchEventApiDestination
from cdktf_cdktf_provider_aws.cloudwatch_event_connection import (
    CloudwatchEventConnection,
    CloudwatchEventConnectionAuthParameters,
    CloudwatchEventConnectionAuthParametersApiKey,
    CloudwatchEventConnectionAuthParametersBasic,
    CloudwatchEventConnectionAuthParametersOauth,
    CloudwatchEventConnectionAuthParametersOauthClientParameters,
    CloudwatchEventConnectionAuthParametersOauthOauthHttpParameters,
    CloudwatchEventConnectionAuthParametersOauthOauthHttpParametersBody,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.consumers.pattern import EVENTS_PRINCIPAL
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig, RouteSettings
from modules.shared.iam import ServiceRoleConfig, service_role
from modules.shared.terraform import terraform_literal

AuthKind = Literal["NONE", "API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS"]

#: Written instead of every secret value; the generator replaces it after apply.
SECRET_PLACEHOLDER = "placeholder-set-by-broker-generator"  # noqa: S105  (a placeholder, not a secret)
#: EventBridge connections always need an authorization; endpoints without auth get this header.
NO_AUTH_HEADER = "x-event-broker"
NO_AUTH_VALUE = "no-auth"
#: Terraform must not undo what the generator writes into the connection.
SECRET_ATTRIBUTES = ["auth_parameters"]


@dataclass(frozen=True)
class HttpsAuthSettings:
    """The non-secret half of an endpoint's authentication (the secret stays in Secrets Manager)."""

    kind: AuthKind = "NONE"
    header_name: str = "x-api-key"
    token_url: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpsConsumerConfig:
    """The route, the connection and API destination, and the role EventBridge invokes it with."""

    route: RouteSettings
    connection_name: str
    api_destination_name: str
    target_role_name: str
    endpoint_url: str
    rate_limit_per_second: int
    account_id: str
    auth: HttpsAuthSettings = field(default_factory=HttpsAuthSettings)
    permissions_boundary: str | None = None


def connection_auth(auth: HttpsAuthSettings) -> tuple[str, CloudwatchEventConnectionAuthParameters]:
    """EventBridge authorization type and placeholder parameters for one kind of auth."""
    if auth.kind == "BASIC":
        return "BASIC", CloudwatchEventConnectionAuthParameters(
            basic=CloudwatchEventConnectionAuthParametersBasic(username=SECRET_PLACEHOLDER, password=SECRET_PLACEHOLDER)
        )
    if auth.kind == "OAUTH_CLIENT_CREDENTIALS":
        if auth.token_url is None:
            raise ValueError("OAuth client credentials need a token_url")
        body = [
            CloudwatchEventConnectionAuthParametersOauthOauthHttpParametersBody(
                key="grant_type", value="client_credentials", is_value_secret=False
            )
        ]
        if auth.scopes:
            body.append(
                CloudwatchEventConnectionAuthParametersOauthOauthHttpParametersBody(
                    key="scope", value=terraform_literal(" ".join(auth.scopes)), is_value_secret=False
                )
            )
        return "OAUTH_CLIENT_CREDENTIALS", CloudwatchEventConnectionAuthParameters(
            oauth=CloudwatchEventConnectionAuthParametersOauth(
                authorization_endpoint=terraform_literal(auth.token_url),
                http_method="POST",
                client_parameters=CloudwatchEventConnectionAuthParametersOauthClientParameters(
                    client_id=SECRET_PLACEHOLDER, client_secret=SECRET_PLACEHOLDER
                ),
                oauth_http_parameters=CloudwatchEventConnectionAuthParametersOauthOauthHttpParameters(body=body),
            )
        )
    if auth.kind == "API_KEY":
        key, value = auth.header_name, SECRET_PLACEHOLDER
    else:
        key, value = NO_AUTH_HEADER, NO_AUTH_VALUE
    return "API_KEY", CloudwatchEventConnectionAuthParameters(
        api_key=CloudwatchEventConnectionAuthParametersApiKey(key=key, value=value)
    )


class HttpsConsumerTarget(Construct):
    """Rule -> API destination (rate limited) -> the subscriber's HTTPS endpoint."""

    connection: CloudwatchEventConnection
    api_destination: CloudwatchEventApiDestination
    role: IamRole
    role_policy: IamRolePolicy
    route: ConsumerRoute

    def __init__(self, scope: Construct, construct_id: str, config: HttpsConsumerConfig) -> None:
        super().__init__(scope, construct_id)
        authorization_type, auth_parameters = connection_auth(config.auth)
        has_secret = config.auth.kind != "NONE"
        self.connection = CloudwatchEventConnection(
            self,
            "connection",
            name=config.connection_name,
            description=f"Endpoint of {config.route.rule_name}",
            authorization_type=authorization_type,
            auth_parameters=auth_parameters,
            lifecycle=TerraformResourceLifecycle(ignore_changes=SECRET_ATTRIBUTES) if has_secret else None,
        )
        self.api_destination = CloudwatchEventApiDestination(
            self,
            "api-destination",
            name=config.api_destination_name,
            description=f"Endpoint of {config.route.rule_name}",
            connection_arn=self.connection.arn,
            http_method="POST",
            invocation_endpoint=terraform_literal(config.endpoint_url),
            invocation_rate_limit_per_second=config.rate_limit_per_second,
        )
        self.role, self.role_policy = service_role(
            self,
            "role",
            ServiceRoleConfig(
                name=config.target_role_name,
                service=EVENTS_PRINCIPAL,
                description=f"EventBridge delivery of {config.route.rule_name} to its API destination",
                policy_name="invoke-api-destination",
                statements=[
                    {
                        "Sid": "InvokeApiDestination",
                        "Effect": "Allow",
                        "Action": "events:InvokeApiDestination",
                        "Resource": self.api_destination.arn,
                    }
                ],
                source_account=config.account_id,
                permissions_boundary=config.permissions_boundary,
            ),
        )
        # with a secret, the connection holds placeholders until the generator copies the real credential in:
        # the rule starts disabled so nothing is sent with them, and the generator enables it after the copy
        self.route = ConsumerRoute(
            self,
            "route",
            ConsumerRouteConfig(
                settings=config.route,
                target_arn=self.api_destination.arn,
                role_arn=self.role.arn,
                start_disabled=has_secret,
            ),
        )
