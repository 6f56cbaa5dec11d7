"""Pure edge pieces: cursors, limits, settings, team resolution, content filters, registry names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalicelib.auth import resolve_team, team_for_token
from chalicelib.errors import ApiError
from chalicelib.services.pagination import decode_cursor, encode_cursor, parse_limit
from chalicelib.services.subscriptions import filter_problems
from chalicelib.settings import AuthMode, PortalSettings, RegistryMode

from broker_contract.schemas import data_field_paths


def test_cursor_round_trip_and_refusals() -> None:
    key = {"pk": "EVENT#a", "sk": "META", "gsi1pk": "EVENTS", "gsi1sk": "a"}
    cursor = encode_cursor(key)
    assert cursor is not None
    assert "=" not in cursor
    assert decode_cursor(cursor) == key
    assert encode_cursor(None) is None
    for bad in ("%%%", "bm90IGpzb24", encode_cursor({"pk": 1}), encode_cursor({"evil": "x"}), "W10"):
        with pytest.raises(ApiError) as error:
            decode_cursor(bad)
        assert (error.value.status, error.value.details[0].field) == (400, "cursor")


@pytest.mark.parametrize(("raw", "value"), [(None, 20), ("1", 1), ("100", 100)])
def test_limit(raw: str | None, value: int) -> None:
    assert parse_limit(raw) == value


@pytest.mark.parametrize("raw", ["0", "101", "-1", "2.5", "x", ""])
def test_limit_refused(raw: str) -> None:
    with pytest.raises(ApiError):
        parse_limit(raw)


def test_settings_from_env(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens.json"
    tokens_file.write_text(json.dumps({"t1": "shop-team"}))
    settings = PortalSettings.from_env(
        {
            "BROKER_PORTAL_AUTH": "iam",
            "BROKER_PORTAL_TOKENS_FILE": str(tokens_file),
            "BROKER_PORTAL_TOKENS": '{"t2": "billing-team"}',
            "BROKER_PORTAL_IAM_TEAMS": '{"ShopDeployer": "shop-team"}',
            "BROKER_PORTAL_USER_POOL_ARN": "arn:a,arn:b",
            "BROKER_SCHEMA_REGISTRY_MODE": "local",
        }
    )
    assert settings.auth_mode is AuthMode.IAM
    assert settings.tokens == {"t1": "shop-team", "t2": "billing-team"}
    assert settings.iam_teams == {"ShopDeployer": "shop-team"}
    assert settings.user_pool_arns == ("arn:a", "arn:b")
    assert settings.registry_mode is RegistryMode.LOCAL
    assert PortalSettings.from_env({}).registry_mode is RegistryMode.AWS


@pytest.mark.parametrize(
    "environ",
    [
        {"BROKER_PORTAL_AUTH": "ldap"},
        {"BROKER_PORTAL_TOKENS": '{"t": "Not A Team"}'},
        {"BROKER_SCHEMA_REGISTRY_MODE": "glue"},
    ],
)
def test_bad_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(RuntimeError):
        PortalSettings.from_env(environ)


def test_team_for_token() -> None:
    tokens = {"abc": "shop-team"}
    assert team_for_token("Bearer abc", tokens) == "shop-team"
    assert team_for_token("bearer abc", tokens) is None
    assert team_for_token("abc", tokens) is None
    assert team_for_token("Bearer abd", tokens) is None


IAM = PortalSettings(
    iam_teams={
        "ShopDeployer": "shop-team",
        "arn:aws:iam::123456789012:user/alice": "billing-team",
    }
)


@pytest.mark.parametrize(
    ("arn", "team"),
    [
        ("arn:aws:sts::123456789012:assumed-role/ShopDeployer/session-1", "shop-team"),
        ("arn:aws:iam::123456789012:role/ShopDeployer", "shop-team"),
        ("arn:aws:iam::123456789012:role/teams/ShopDeployer", "shop-team"),
        ("arn:aws:iam::123456789012:user/alice", "billing-team"),
    ],
)
def test_iam_team_from_principal(arn: str, team: str) -> None:
    assert resolve_team({"identity": {"userArn": arn}}, AuthMode.IAM, IAM) == team


@pytest.mark.parametrize(
    ("context", "status"),
    [
        ({"identity": {}}, 401),
        ({"identity": {"userArn": "arn:aws:sts::123456789012:assumed-role/Stranger/s"}}, 403),
        ({"identity": {"userArn": "arn:aws:iam::123456789012:user/bob"}}, 403),
    ],
)
def test_iam_refusals(context: dict[str, object], status: int) -> None:
    with pytest.raises(ApiError) as error:
        resolve_team(context, AuthMode.IAM, IAM)
    assert error.value.status == status


def test_cognito_team_claim() -> None:
    settings = PortalSettings()
    claims = {"authorizer": {"claims": {"cognito:username": "ann", "custom:team": "shop-team"}}}
    assert resolve_team(claims, AuthMode.COGNITO, settings) == "shop-team"
    with pytest.raises(ApiError) as missing:
        resolve_team({"authorizer": {"claims": {"cognito:username": "ann"}}}, AuthMode.COGNITO, settings)
    assert missing.value.status == 403
    with pytest.raises(ApiError) as invalid:
        resolve_team({"authorizer": {"claims": {"custom:team": "Shop Team"}}}, AuthMode.COGNITO, settings)
    assert invalid.value.status == 403
    with pytest.raises(ApiError) as anonymous:
        resolve_team({}, AuthMode.COGNITO, settings)
    assert anonymous.value.status == 401


def test_token_team_comes_from_authorizer_context() -> None:
    assert resolve_team({"authorizer": {"team": "shop-team"}}, AuthMode.TOKEN, PortalSettings()) == "shop-team"
    with pytest.raises(ApiError) as error:
        resolve_team({"authorizer": {"principalId": "anonymous"}}, AuthMode.TOKEN, PortalSettings())
    assert error.value.status == 401


def test_filter_problems_name_unknown_fields_and_bad_leaves() -> None:
    paths = data_field_paths(
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "object", "properties": {"c": {}}}}}
    )
    assert filter_problems({"a": ["x"], "b": {"c": [{"prefix": "y"}]}}, paths) == []
    problems = filter_problems({"z": ["x"], "a": [], "b": {"d": ["q"]}}, paths)
    assert [(problem.field, problem.rule) for problem in problems] == [
        ("content_filter.z", "is not a field of the event's data schema"),
        ("content_filter.a", "must be a non-empty list of values or EventBridge matchers"),
        ("content_filter.b.d", "is not a field of the event's data schema"),
    ]
