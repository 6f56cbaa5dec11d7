"""The few AWS calls the generator makes around ``terraform apply`` (typed wrapper, clients injected).

- the producers' API is shared: the ``/<event_type>`` parent resource is created once, outside any
  producer's state, so destroying one version never removes the path of another;
- a new API Gateway deployment of the shared stage is created after each HTTPS producer change,
  because a deployment snapshots all methods: no producer stack owns the stage. Deployments of the
  stage are serialized within a process (parallel workers) and retried with backoff across processes:
  API Gateway refuses one while another producer's method is half-built (``BadRequestException``), or
  while another deployment is being made (``ConflictException``, ``TooManyRequestsException``);
- an HTTPS consumer's EventBridge connection is created by Terraform with placeholder credentials,
  then updated here from Secrets Manager, so secrets never appear in a file or in Terraform state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from broker_contract.models import ApiKeyAuth, BasicAuth, OAuthClientCredentials

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]

#: API Gateway errors after which creating a stage deployment succeeds when tried again a little later
RETRIED_DEPLOYMENT_ERRORS = ("BadRequestException", "ConflictException", "TooManyRequestsException")
DEPLOYMENT_ATTEMPTS = 6


class SecretFormatError(ValueError):
    """The consumer's secret does not hold what its auth type needs (the owner must fix the secret)."""


def connection_auth_parameters(
    auth: ApiKeyAuth | BasicAuth | OAuthClientCredentials, secret_string: str
) -> tuple[str, dict[str, Any]]:
    """``(AuthorizationType, AuthParameters)`` of ``events.update_connection`` from the secret's value.

    API_KEY secrets hold the key itself (or JSON ``{"api_key": ...}``); BASIC secrets hold JSON
    ``{"username", "password"}``; OAuth secrets hold JSON ``{"client_id", "client_secret"}``.
    """
    if isinstance(auth, ApiKeyAuth):
        value = secret_string
        parsed = _json_object(secret_string, required=False)
        if parsed is not None:
            value = _field(parsed, "api_key", auth.secret_arn)
        if not value:
            raise SecretFormatError(f"secret {auth.secret_arn} is empty")
        return "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": auth.header_name, "ApiKeyValue": value}}
    parsed = _json_object(secret_string, required=True)
    if parsed is None:
        raise SecretFormatError("the secret must hold a JSON object")
    if isinstance(auth, BasicAuth):
        return "BASIC", {
            "BasicAuthParameters": {
                "Username": _field(parsed, "username", auth.secret_arn),
                "Password": _field(parsed, "password", auth.secret_arn),
            }
        }
    body = [{"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]
    if auth.scopes:
        body.append({"Key": "scope", "Value": " ".join(auth.scopes), "IsValueSecret": False})
    return "OAUTH_CLIENT_CREDENTIALS", {
        "OAuthParameters": {
            "ClientParameters": {
                "ClientID": _field(parsed, "client_id", auth.secret_arn),
                "ClientSecret": _field(parsed, "client_secret", auth.secret_arn),
            },
            "AuthorizationEndpoint": str(auth.token_url),
            "HttpMethod": "POST",
            "OAuthHttpParameters": {"BodyParameters": body},
        }
    }


def _json_object(text: str, *, required: bool) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    if required:
        raise SecretFormatError("the secret must hold a JSON object")
    return None


def _field(secret: dict[str, Any], name: str, secret_arn: str) -> str:
    value = secret.get(name)
    if not isinstance(value, str) or not value:
        raise SecretFormatError(f"secret {secret_arn} has no string field {name!r}")
    return value


class AwsPostApplyActions:
    """API Gateway, EventBridge and Secrets Manager calls of the generator.

    ``client_factory(service_name)`` builds a boto3 client; it is called on first use only.
    """

    def __init__(self, client_factory: ClientFactory, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._stage_lock = threading.Lock()
        self._sleep = sleep

    def _client(self, service: str) -> Any:
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._client_factory(service)
            return self._clients[service]

    def ensure_api_resource(self, api_id: str, root_resource_id: str, path: str) -> str:
        """Create every missing segment of ``path`` (``/order-created``) under the API root; its resource id."""
        apigateway = self._client("apigateway")
        existing: dict[str, str] = {}
        for page in apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
            for item in page.get("items", []):
                existing[item["path"]] = item["id"]
        parent_id = existing.get("/", root_resource_id)
        current = ""
        for segment in [part for part in path.split("/") if part]:
            current = f"{current}/{segment}"
            if current not in existing:
                try:
                    created = apigateway.create_resource(restApiId=api_id, parentId=parent_id, pathPart=segment)
                    existing[current] = created["id"]
                    logger.info("created API resource", extra={"api_id": api_id, "path": current})
                except apigateway.exceptions.ConflictException:
                    # another producer of the same event type created it at the same time
                    existing[current] = self._resource_id(api_id, current)
            parent_id = existing[current]
        return parent_id

    def _resource_id(self, api_id: str, path: str) -> str:
        for page in self._client("apigateway").get_paginator("get_resources").paginate(restApiId=api_id):
            for item in page.get("items", []):
                if item["path"] == path:
                    return str(item["id"])
        raise LookupError(f"API resource {path} not found on {api_id}")

    def redeploy_stage(self, api_id: str, stage_name: str, description: str) -> str:
        """Create a new deployment of the shared stage, so it serves every producer's current methods."""
        apigateway = self._client("apigateway")
        with self._stage_lock:
            for attempt in range(1, DEPLOYMENT_ATTEMPTS + 1):
                try:
                    response = apigateway.create_deployment(
                        restApiId=api_id, stageName=stage_name, description=description
                    )
                    return str(response["id"])
                except Exception as error:
                    code = getattr(error, "response", {}).get("Error", {}).get("Code")
                    if code not in RETRIED_DEPLOYMENT_ERRORS or attempt == DEPLOYMENT_ATTEMPTS:
                        raise
                    logger.info("stage deployment refused; trying again", extra={"code": code, "attempt": attempt})
                    self._sleep(min(2.0**attempt, 20.0))
        raise AssertionError("unreachable")

    def sync_connection(self, connection_name: str, auth: ApiKeyAuth | BasicAuth | OAuthClientCredentials) -> None:
        """Copy the real credentials from the referenced secret into the EventBridge connection."""
        secret = self._client("secretsmanager").get_secret_value(SecretId=auth.secret_arn)
        secret_string = secret.get("SecretString")
        if not isinstance(secret_string, str):
            raise SecretFormatError(f"secret {auth.secret_arn} has no string value")
        authorization_type, parameters = connection_auth_parameters(auth, secret_string)
        self._client("events").update_connection(
            Name=connection_name, AuthorizationType=authorization_type, AuthParameters=parameters
        )
