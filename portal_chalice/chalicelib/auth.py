"""Authentication: which authorizer protects the routes (chosen at import time) and who the caller is.

``BROKER_PORTAL_AUTH`` picks one of three real mechanisms when this module is imported:

* ``token``: a Chalice built-in (Lambda) authorizer reads ``Authorization: Bearer <token>`` and
  looks the token up in ``BROKER_PORTAL_TOKENS_FILE`` / ``BROKER_PORTAL_TOKENS`` (token -> team).
  It lets the request through carrying the team (or nothing), and the view answers 401 itself, so
  every refusal has the portal's JSON error shape. A missing header is refused by the gateway (401).
* ``cognito``: API Gateway's Cognito user-pool authorizer (pools from ``BROKER_PORTAL_USER_POOL_ARN``);
  the team is the token's ``custom:team`` claim.
* ``iam``: API Gateway's IAM (SigV4) authorizer; the team comes from the caller's role name or
  principal ARN through ``BROKER_PORTAL_IAM_TEAMS`` (JSON ``{"role-or-arn": "team"}``).

When the Chalice CLI loads the app (``chalice local``, ``chalice package``, ``chalice deploy``) an environment
the portal cannot run with is refused here, listing every missing or placeholder variable, instead of
failing on the first request.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Blueprint, CognitoUserPoolAuthorizer, IAMAuthorizer

from broker_contract.names import is_identifier
from chalicelib import container
from chalicelib.errors import forbidden, unauthorized
from chalicelib.settings import (
    AuthMode,
    PortalVariable,
    auth_mode_from_env,
    environment_problems,
    user_pool_arns_from_env,
)

logger = logging.getLogger(__name__)
#: set by the Chalice CLI for every command it runs (local, package, deploy), never in Lambda nor the test client
CHALICE_CLI_VARIABLE = "AWS_CHALICE_CLI_MODE"


def refuse_incomplete_environment(environ: Mapping[str, str]) -> None:
    """Raise, listing what is missing, when the Chalice CLI loads the app with an environment it cannot run."""
    if environ.get(CHALICE_CLI_VARIABLE) != "true":
        return
    problems = environment_problems(environ)
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise RuntimeError(
            f"the portal cannot run with this stage's environment:{listed}\n"
            "Fill a deployed stage with `python -m cdktf_stacks.outputs --outputs-file outputs.json --stage <stage>`, "
            "or run the whole broker locally with `make demo` (README: 'Run the portal yourself')."
        )


refuse_incomplete_environment(os.environ)
MODE: AuthMode = auth_mode_from_env()
auth_blueprint = Blueprint(__name__)
TEAM_CONTEXT_KEY = "team"


def team_for_token(header: str, tokens: Mapping[str, str]) -> str | None:
    """The team a ``Bearer <token>`` header maps to, or ``None``."""
    match = re.fullmatch(r"Bearer\s+(\S+)", header.strip())
    if match is None:
        return None
    return tokens.get(match.group(1))


def _token_authorizer(auth_request: AuthRequest) -> AuthResponse:
    """Let the request through, carrying the caller's team when the token is known."""
    team = team_for_token(auth_request.token or "", container.settings().tokens)
    context = {TEAM_CONTEXT_KEY: team} if team else {}
    return AuthResponse(routes=["*"], principal_id=team or "anonymous", context=context)


def _build_authorizer(mode: AuthMode) -> Any:
    if mode is AuthMode.TOKEN:
        return auth_blueprint.authorizer(name="portal_token_authorizer", ttl_seconds=0)(_token_authorizer)
    if mode is AuthMode.COGNITO:
        arns = list(user_pool_arns_from_env())
        if not arns:
            raise RuntimeError(f"{PortalVariable.AUTH}=cognito needs {PortalVariable.USER_POOL_ARN}")
        _refuse_malformed_tokens_locally()
        return CognitoUserPoolAuthorizer("PortalUserPool", provider_arns=arns)
    return IAMAuthorizer()


def jwt_claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT (what ``chalice local`` trusts); ``ValueError`` when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected header.payload.signature")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"not a JWT: its payload is not base64url JSON ({error})") from error
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: its payload is not a JSON object")
    return claims


def _refuse_malformed_tokens_locally() -> None:
    """Make Chalice's local gateway answer 401 to a token that is not a JWT, as API Gateway's Cognito authorizer does.

    ``chalice local`` and ``chalice.test.Client`` stand in for API Gateway with
    ``chalice.local.LocalGatewayAuthorizer``, whose ``_decode_jwt_payload`` raises ``IndexError`` (or a
    base64/JSON error) on any token that is not a JWT: the request dies with the connection dropped. The
    Chalice runtime in Lambda has no ``chalice.local`` (the gateway authorizes there), so this only changes
    local serving: a malformed token gets API Gateway's own answer, 401 ``{"message": "Unauthorized"}``.
    Chalice offers no hook for its local authorizer, hence the replaced method.
    """
    try:
        from chalice.local import LocalGatewayAuthorizer, NotAuthorizedError  # noqa: PLC0415 - absent in Lambda
    except ImportError:
        return

    def decode(_gateway: Any, token: str) -> dict[str, Any]:
        try:
            return jwt_claims(token)
        except ValueError as error:
            logger.warning("refused a malformed Cognito token: %s", error)
            raise NotAuthorizedError(
                {"x-amzn-ErrorType": "UnauthorizedException"}, b'{"message":"Unauthorized"}'
            ) from error

    LocalGatewayAuthorizer._decode_jwt_payload = decode  # type: ignore[method-assign,assignment]


AUTHORIZER: Any = _build_authorizer(MODE)


def _role_name(principal_arn: str) -> str | None:
    """The role name of an assumed-role session or role ARN (role paths dropped)."""
    session = re.fullmatch(r"arn:aws[\w-]*:sts::\d{12}:assumed-role/([\w+=,.@-]+)/[^/]+", principal_arn)
    if session is not None:
        return session.group(1)
    role = re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)", principal_arn)
    return role.group(1) if role is not None else None


def resolve_team(context: Mapping[str, Any], mode: AuthMode = MODE, settings: Any = None) -> str:
    """The caller's team from the request context the authorizer filled; 401 or 403 otherwise."""
    portal = settings if settings is not None else container.settings()
    authorizer = context.get("authorizer") or {}
    team: str | None
    if mode is AuthMode.TOKEN:
        team = authorizer.get(TEAM_CONTEXT_KEY)
        if not team:
            raise unauthorized("missing or unknown bearer token (header 'Authorization: Bearer <token>')")
    elif mode is AuthMode.COGNITO:
        claims = authorizer.get("claims")
        if not claims:
            raise unauthorized("missing or invalid Cognito token")
        team = claims.get("custom:team")
        if not team:
            raise forbidden("the Cognito token carries no 'custom:team' claim")
    else:
        principal = (context.get("identity") or {}).get("userArn")
        if not principal:
            raise unauthorized("missing IAM (SigV4) credentials")
        mapping: Mapping[str, str] = portal.iam_teams
        role = _role_name(principal)
        team = mapping.get(principal) or (mapping.get(role) if role else None)
        if not team:
            raise forbidden(f"principal {principal} is not mapped to a team (BROKER_PORTAL_IAM_TEAMS)")
    if not is_identifier(str(team)):
        raise forbidden(f"team {team!r} is not a valid team name")
    return str(team)
