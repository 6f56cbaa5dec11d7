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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Blueprint, CognitoUserPoolAuthorizer, IAMAuthorizer

from broker_contract.names import is_identifier
from chalicelib import container
from chalicelib.errors import forbidden, unauthorized
from chalicelib.settings import AuthMode, auth_mode_from_env

logger = logging.getLogger(__name__)

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
        import os  # noqa: PLC0415 - only this mode needs the pool ARNs at import time

        arns = [arn for arn in os.environ.get("BROKER_PORTAL_USER_POOL_ARN", "").split(",") if arn.strip()]
        if not arns:
            raise RuntimeError("BROKER_PORTAL_AUTH=cognito needs BROKER_PORTAL_USER_POOL_ARN")
        return CognitoUserPoolAuthorizer("PortalUserPool", provider_arns=arns)
    return IAMAuthorizer()


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
