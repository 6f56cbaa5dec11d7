"""Profiles, field diffs and error mapping of ``broker``, without a portal (httpx MockTransport where needed)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from broker_cli import config as profiles
from broker_cli import main as cli
from broker_cli.client import PortalClient, PortalError
from broker_cli.diff import field_changes


def test_profile_resolution_order(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    profiles.save(
        path,
        profiles.ConfigFile(
            default="dev",
            profiles={
                "dev": profiles.Profile(url="http://127.0.0.1:8000", token="t-dev"),
                "ci": profiles.Profile(url="http://127.0.0.1:9000", token="t-ci"),
            },
        ),
    )
    assert profiles.resolve(path, None, {})[1].token == "t-dev"
    assert profiles.resolve(path, None, {"BROKER_PROFILE": "ci"})[1].token == "t-ci"
    assert profiles.resolve(path, "dev", {"BROKER_PROFILE": "ci"})[1].token == "t-dev"
    name, chosen = profiles.resolve(path, None, {"BROKER_TOKEN": "from-env"})
    assert (name, chosen.url, chosen.token) == ("dev", "http://127.0.0.1:8000", "from-env")
    with pytest.raises(profiles.ConfigError, match="no profile 'prod'"):
        profiles.resolve(path, "prod", {})
    only_env = profiles.resolve(tmp_path / "none.json", None, {"BROKER_PORTAL_URL": "http://x", "BROKER_TOKEN": "t"})
    assert only_env[0] == "(environment)"
    with pytest.raises(profiles.ConfigError, match="broker profile add"):
        profiles.resolve(tmp_path / "none.json", None, {})


def test_a_broken_config_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(profiles.ConfigError, match=str(path)):
        profiles.load(path)


def test_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BROKER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert profiles.config_path() == tmp_path / "broker" / "config.json"


def test_field_changes_cover_nested_objects_arrays_and_requiredness() -> None:
    before = {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
            "gone": {"type": "integer"},
        },
    }
    after = {
        "type": "object",
        "required": ["id", "lines"],
        "properties": {
            "id": {"type": "integer"},
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}},
            },
        },
    }
    changes = {(change.kind, change.path): change.detail for change in field_changes(before, after)}
    assert changes == {
        ("changed", "id"): "type string -> integer",
        ("changed", "lines"): "now required",
        ("added", "lines[].qty"): "integer, optional",
        ("removed", "gone"): "integer",
    }
    assert field_changes(after, after) == []


def answering(status: int, body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_portal_errors_keep_the_portals_words_and_gateway_refusals_are_marked() -> None:
    portal = {
        "error": {"code": "bad_request", "message": "invalid limit", "details": [{"field": "limit", "rule": "r"}]}
    }
    client = PortalClient("http://127.0.0.1:1", "t", transport=answering(400, portal))
    with pytest.raises(PortalError) as refused:
        client.list_events(limit=500)
    assert (refused.value.message, refused.value.details, refused.value.unavailable) == (
        "invalid limit",
        [{"field": "limit", "rule": "r"}],
        False,
    )
    gateway = PortalClient(
        "http://127.0.0.1:1", "t", transport=answering(403, {"message": "Missing Authentication Token"})
    )
    with pytest.raises(PortalError) as missing:
        gateway.diff("x", 1, 2)
    assert missing.value.unavailable
    assert missing.value.message == "Missing Authentication Token"


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, cli.Exit.INVALID), (401, cli.Exit.DENIED), (403, cli.Exit.DENIED), (404, cli.Exit.NOT_FOUND),
     (409, cli.Exit.CONFLICT), (500, cli.Exit.PORTAL), (503, cli.Exit.PORTAL)],
)  # fmt: skip
def test_each_refusal_has_its_exit_code(
    status: int, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("BROKER_PORTAL_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("BROKER_TOKEN", "secret-token")
    body = {"error": {"code": "x", "message": f"refused with {status}", "details": []}}
    result = CliRunner().invoke(cli.app, ["events", "list"], obj={"transport": answering(status, body)})
    assert result.exit_code == code
    assert f"error: refused with {status}" in result.stderr
    assert "secret-token" not in result.stderr + result.stdout


def test_json_output_is_the_portals_answer_as_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("BROKER_PORTAL_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("BROKER_TOKEN", "t")
    answer = {
        "event_type": "e",
        "version": 1,
        "application": "a",
        "detail_type": "e.1",
        "data_schema": {"type": "object"},
        "schema": {"type": "object"},
        "producer_endpoint_path": "/e/1",
        "subscription_count": 0,
        "deployment_id": "dep-0123456789abcdef",
        "added_later_by_the_portal": {"kept": True},
    }
    result = CliRunner().invoke(
        cli.app, ["events", "show", "e", "--version", "1", "--json"], obj={"transport": answering(200, answer)}
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == answer


def test_watch_exits_1_when_the_deployment_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("BROKER_PORTAL_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("BROKER_TOKEN", "t")
    statuses = iter(["pending", "applying", "failed"])

    def record(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(
            200,
            json={
                "deployment_id": "dep-0123456789abcdef",
                "kind": "producer",
                "component_id": "c",
                "action": "deploy",
                "sequence": 1,
                "status": status,
                "requested_by": "shop-team",
                "requested_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "file_bucket": "b",
                "file_key": "k",
                "event_type": "e",
                "version": 1,
                "error": "apply failed: AccessDenied" if status == "failed" else None,
                "history": [{"status": status, "at": "2026-01-01T00:00:00Z"}],
            },
        )

    result = CliRunner().invoke(
        cli.app,
        ["deployments", "watch", "dep-0123456789abcdef", "--interval", "0"],
        obj={"transport": httpx.MockTransport(record)},
    )
    assert result.exit_code == cli.Exit.NEGATIVE
    assert "error: apply failed: AccessDenied" in result.stderr
    assert "failed" in result.stdout
