"""``broker`` against the local broker: tables, ``--json``, exit codes and the portal's own error messages.

The endpoints of issue 10 (diff, an event's subscriptions, test, PATCH) are on this portal; a fake of those routes
(an httpx transport in front of the real portal) answers them as the agreed contract says, or as a gateway without
them does (403 "Missing Authentication Token"), to check what the commands do with each answer: the CLI falls
back where it can (diff) and says so where it cannot.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from broker_cli import main as cli
from local_mode.processes import free_port
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN
from tests.e2e.team_tools.conftest import ORDER_V1, ORDER_V2, QUEUE_ARN, Seeded

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

Handler = Callable[[httpx.Request, re.Match[str]], httpx.Response]


class ContractFake(httpx.BaseTransport):
    """Answers the given routes as the contract says; everything else goes to the real portal."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.real = httpx.HTTPTransport()
        self.seen: list[tuple[str, str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for (method, pattern), handler in self.routes.items():
            match = re.fullmatch(pattern, request.url.path)
            if match and request.method == method:
                body = json.loads(request.content) if request.content else None
                self.seen.append((method, str(request.url), body))
                return handler(request, match)
        return self.real.handle_request(request)


@pytest.fixture
def run(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """``run(*args, transport=None)``: the CLI in-process with profiles 'shop' (default) and 'billing'."""
    monkeypatch.setenv("BROKER_CONFIG", str(tmp_path / "config.json"))
    for variable in ("BROKER_PROFILE", "BROKER_PORTAL_URL", "BROKER_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(cli.out, "width", 220)
    monkeypatch.setattr(cli.err, "width", 220)
    runner = CliRunner()

    def invoke(*args: str, transport: httpx.BaseTransport | None = None, stdin: str | None = None) -> Result:
        return runner.invoke(cli.app, list(args), obj={"transport": transport}, input=stdin)

    assert invoke("profile", "add", "shop", "--url", seeded.url, "--token", SHOP_TOKEN).exit_code == 0
    assert invoke("profile", "add", "billing", "--url", seeded.url, "--token", BILLING_TOKEN).exit_code == 0
    yield invoke


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_profiles_are_saved_privately_and_listed_without_tokens(run: Callable[..., Result], tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    assert config.stat().st_mode & 0o077 == 0
    listed = as_json(run("profile", "list", "--json"))
    assert [(item["name"], item["default"]) for item in listed] == [("billing", False), ("shop", True)]
    assert SHOP_TOKEN not in json.dumps(listed)
    assert run("profile", "use", "billing").exit_code == 0
    assert [item["name"] for item in as_json(run("profile", "list", "--json")) if item["default"]] == ["billing"]
    unknown = run("--profile", "nobody", "events", "list")
    assert unknown.exit_code == cli.Exit.LOCAL
    assert "no profile 'nobody'" in unknown.stderr


def test_events_list_filters_and_pages(run: Callable[..., Result]) -> None:
    table = run("events", "list")
    assert table.exit_code == 0, table.stderr
    assert "order_placed" in table.stdout
    assert "stock_changed" in table.stdout
    assert "webshop" in table.stdout

    warehouse = as_json(run("events", "list", "--application", "warehouse", "--json"))
    assert [item["event_type"] for item in warehouse["items"]] == ["stock_changed"]

    first = as_json(run("events", "list", "--limit", "1", "--json"))
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    everything = as_json(run("events", "list", "--limit", "1", "--all", "--json"))
    assert {"order_placed", "stock_changed"} <= {item["event_type"] for item in everything["items"]}
    assert everything["next_cursor"] is None


def test_events_show_gives_versions_with_their_verdicts_and_one_schema(run: Callable[..., Result]) -> None:
    shown = run("events", "show", "order_placed")
    assert shown.exit_code == 0, shown.stderr
    lines = {line.split()[1]: line for line in shown.stdout.splitlines() if re.match(r"^. v\d ", line)}
    assert "compatible" in lines["v2"]
    assert "breaking" in lines["v3"]

    version = as_json(run("events", "show", "order_placed", "--version", "2", "--json"))
    assert version["detail_type"] == "order_placed.2"
    assert sorted(version["data_schema"]["properties"]) == ["amount", "currency", "order_id"]


def test_diff_without_the_diff_endpoint_compares_the_schemas_itself(run: Callable[..., Result]) -> None:
    no_diff = ContractFake({("GET", r"/events/order_placed/diff"): missing_endpoint})
    compatible = run("events", "diff", "order_placed", "1", "2", "--fail-on-breaking", transport=no_diff)
    assert compatible.exit_code == 0, compatible.stderr
    assert "backward compatible" in compatible.stdout
    assert re.search(r"added\s+.\s*currency", compatible.stdout)

    breaking = run("events", "diff", "order_placed", "2", "3", "--fail-on-breaking", transport=no_diff)
    assert breaking.exit_code == cli.Exit.NEGATIVE
    assert "breaking" in breaking.stdout
    assert "numbers below the minimum 1" in breaking.stdout

    unknown = as_json(run("events", "diff", "order_placed", "1", "3", "--json", transport=no_diff))
    assert unknown["backward"]["compatible"] is None
    assert unknown["computed_locally"] is True
    assert {change["path"]: change["kind"] for change in unknown["changes"]} == {
        "amount": "changed",
        "currency": "added",
    }
    assert len(no_diff.seen) == 3


def test_diff_with_the_portals_endpoint_gives_both_directions(run: Callable[..., Result]) -> None:
    shown = run("events", "diff", "order_placed", "2", "3", "--fail-on-breaking")
    assert shown.exit_code == cli.Exit.NEGATIVE
    assert "backward breaking forward compatible (mode FORWARD)" in shown.stdout
    assert "/properties/amount/minimum" in shown.stdout


def test_a_team_registers_changes_and_deletes_an_event(run: Callable[..., Result], tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(ORDER_V1))
    created = as_json(
        run("events", "create", "-f", str(schema), "-e", "cli_refund", "-a", "webshop", "--description", "x", "--json")
    )
    assert (created["version"], created["producer_endpoint_path"]) == (1, "/cli_refund/1")

    again = run("events", "create", "-f", str(schema), "-e", "cli_refund", "-a", "webshop")
    assert again.exit_code == cli.Exit.CONFLICT
    assert "error: event type 'cli_refund' exists already" in again.stderr

    not_owner = run("--profile", "billing", "events", "update", "cli_refund", "--description", "mine now")
    assert not_owner.exit_code == cli.Exit.DENIED
    assert "owned by team shop-team" in not_owner.stderr

    updated = run("events", "update", "cli_refund", "-f", "-", stdin=json.dumps(ORDER_V2))
    assert updated.exit_code == 0, updated.stderr
    assert "cli_refund v2 created" in updated.stdout
    assert "deployments watch dep-" in updated.stdout

    deleted = as_json(run("events", "delete", "cli_refund", "--json"))
    assert sorted(deleted["versions"]) == [1, 2]
    gone = run("events", "show", "cli_refund")
    assert gone.exit_code == cli.Exit.NOT_FOUND
    assert "error: event type 'cli_refund' not found" in gone.stderr


def test_invalid_input_is_refused_with_the_portals_field_and_rule(run: Callable[..., Result], tmp_path: Path) -> None:
    draft06 = tmp_path / "bad.json"
    draft06.write_text(json.dumps({"type": "object", "properties": {"id": {"const": "x"}}}))
    refused = run("events", "create", "-f", str(draft06), "-e", "cli_bad", "-a", "webshop")
    assert refused.exit_code == cli.Exit.INVALID
    assert "data/properties/id/const: keyword 'const' is JSON Schema draft-06" in refused.stderr

    bad_name = run("events", "create", "-f", json.dumps(ORDER_V1), "-e", "Bad Name", "-a", "webshop")
    assert bad_name.exit_code == cli.Exit.INVALID
    assert "event_type:" in bad_name.stderr

    missing = run("events", "create", "-f", str(tmp_path / "nope.json"), "-e", "cli_x", "-a", "webshop")
    assert missing.exit_code == cli.Exit.LOCAL
    assert "cannot read the data schema" in missing.stderr

    not_json = run("events", "create", "-f", "{nope", "-e", "cli_x", "-a", "webshop")
    assert not_json.exit_code == cli.Exit.LOCAL
    assert "not valid JSON" in not_json.stderr


def test_unreachable_portal_and_missing_configuration(
    run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BROKER_PORTAL_URL", f"http://127.0.0.1:{free_port()}")
    down = run("events", "list")
    assert down.exit_code == cli.Exit.PORTAL
    assert "cannot be reached" in down.stderr

    monkeypatch.delenv("BROKER_PORTAL_URL")
    monkeypatch.setenv("BROKER_CONFIG", str(tmp_path / "empty" / "config.json"))
    unconfigured = run("events", "list")
    assert unconfigured.exit_code == cli.Exit.LOCAL
    assert "broker profile add" in unconfigured.stderr


def test_subscribe_follow_the_deployment_and_unsubscribe(run: Callable[..., Result], seeded: Seeded) -> None:
    created = as_json(
        run(
            "--profile", "billing", "subscribe", "order_placed", "--version", "1", "--target-unit", "cli",
            "-c", "SQS", "--to", QUEUE_ARN, "--filter", '{"amount": [{"numeric": [">", 100]}]}', "--json",
        )
    )  # fmt: skip
    subscription_id, deployment_id = created["subscription_id"], created["deployment_id"]
    assert created["content_filter"] == {"amount": [{"numeric": [">", 100]}]}

    bad_filter = run(
        "--profile", "billing", "subscribe", "order_placed", "--version", "1", "--target-unit", "cli",
        "-c", "SQS", "--to", QUEUE_ARN, "--filter", '{"colour": ["red"]}',
    )  # fmt: skip
    assert bad_filter.exit_code == cli.Exit.INVALID
    assert "content_filter.colour: is not a field of the event's data schema" in bad_filter.stderr

    listed = as_json(run("--profile", "billing", "subscriptions", "list", "--json"))
    assert subscription_id in [item["subscription_id"] for item in listed["items"]]

    watched = run("--profile", "billing", "deployments", "watch", deployment_id, "--until", "synthesized",
                  "--interval", "0.3", "--timeout", "90")  # fmt: skip
    assert watched.exit_code == 0, watched.stderr
    assert "synthesized" in watched.stdout
    assert "pending" in watched.stdout

    shown = run("--profile", "billing", "subscriptions", "show", subscription_id)
    assert shown.exit_code == 0, shown.stderr
    assert "synthesized" in shown.stdout

    terraform = as_json(run("--profile", "billing", "deployments", "show", deployment_id, "--terraform"))
    assert "resource" in json.dumps(terraform)
    record = as_json(run("--profile", "billing", "deployments", "show", deployment_id, "--json"))
    assert [change["status"] for change in record["history"]][:2] == ["pending", "synthesized"]

    timed_out = run("--profile", "billing", "deployments", "watch", deployment_id, "--timeout", "0.5",
                    "--interval", "0.2")  # fmt: skip
    assert timed_out.exit_code == cli.Exit.TIMEOUT
    assert "still synthesized" in timed_out.stderr

    foreign = run("deployments", "show", deployment_id)
    assert foreign.exit_code == 0, "the event's owner may read its subscribers' deployments"

    removed = run("--profile", "billing", "subscriptions", "delete", subscription_id)
    assert removed.exit_code == 0, removed.stderr
    assert "teardown deployment dep-" in removed.stdout
    assert run("--profile", "billing", "subscriptions", "show", subscription_id).exit_code == cli.Exit.NOT_FOUND


def json_answer(payload: Any, status: int = 200) -> Handler:
    return lambda request, match: httpx.Response(status, json=payload)


def missing_endpoint(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
    """What API Gateway answers for a route the portal does not have (not the portal's error envelope)."""
    return httpx.Response(403, json={"message": "Missing Authentication Token"})


def test_contract_endpoints_are_called_and_rendered(run: Callable[..., Result], seeded: Seeded) -> None:
    diff = {
        "event_type": "order_placed",
        "from": 2,
        "to": 3,
        "mode": "FULL",
        "backward": {"compatible": False, "problems": [{"pointer": "/currency/enum", "message": "enum narrowed"}]},
        "forward": {"compatible": True, "problems": []},
        "from_schema": ORDER_V2,
        "to_schema": ORDER_V1,
    }
    subscriptions = {
        "items": [
            {
                "subscription_id": seeded.subscription_ids[0],
                "team": "billing-team",
                "target_unit": "billing",
                "connection_type": "SQS",
                "version": 2,
                "status": "active",
                "deployment_id": seeded.subscription_deployments[0],
                "deployment_status": "deployed",
            }
        ],
        "next_cursor": None,
    }
    tested = {
        "valid": False,
        "errors": [{"field": "data.order_id", "rule": "is required"}],
        "detail_type": "order_placed.3",
        "matches": [],
    }
    fake = ContractFake(
        {
            ("GET", r"/events/order_placed/diff"): json_answer(diff),
            ("GET", r"/events/order_placed/subscriptions"): json_answer(subscriptions),
            ("POST", r"/events/order_placed/versions/(\d+)/test"): json_answer(tested),
            ("PATCH", r"/subscriptions/([\w-]+)"): json_answer(
                {"subscription_id": "x", "deployment_id": "dep-0123456789abcdef"}
            ),
        }
    )
    shown = run("events", "diff", "order_placed", "2", "3", "--fail-on-breaking", transport=fake)
    assert shown.exit_code == cli.Exit.NEGATIVE
    assert "backward breaking forward compatible (mode FULL)" in shown.stdout
    assert "/currency/enum enum narrowed" in shown.stdout
    assert re.search(r"removed\s+.\s*currency", shown.stdout)

    listed = run("events", "subscriptions", "order_placed", transport=fake)
    assert listed.exit_code == 0, listed.stderr
    assert seeded.subscription_ids[0] in listed.stdout
    assert "deployed" in listed.stdout

    envelope = {"metadata": {"event_attributes": {"source": "webshop", "target": "billing"}}, "data": {}}
    invalid = run("test-event", "order_placed", "-f", json.dumps(envelope), transport=fake)
    assert invalid.exit_code == cli.Exit.NEGATIVE
    assert "order_placed v3: invalid" in invalid.stdout
    assert "data.order_id: is required" in invalid.stdout
    assert fake.seen[-1][1].endswith("/events/order_placed/versions/3/test")
    assert fake.seen[-1][2] == envelope

    patched = run(
        "--profile", "billing", "subscriptions", "update", seeded.subscription_ids[0], "--retry-attempts", "3",
        "--no-manage-queue-policy", transport=fake,
    )  # fmt: skip
    assert patched.exit_code == 0, patched.stderr
    assert "deployments watch dep-0123456789abcdef" in patched.stdout
    assert fake.seen[-1][2] == {"retry_attempts": 3, "manage_queue_policy": False}


def test_without_the_contract_endpoints_the_cli_says_so(run: Callable[..., Result]) -> None:
    gateway = ContractFake({("GET", r"/events/order_placed/subscriptions"): missing_endpoint})
    answer = run("events", "subscriptions", "order_placed", transport=gateway)
    assert answer.exit_code == cli.Exit.NOT_FOUND
    assert "this portal does not offer that endpoint" in answer.stderr
    assert SHOP_TOKEN not in answer.stderr
    assert gateway.seen, "the fake gateway was not asked"


def test_the_installed_console_script_uses_environment_credentials(seeded: Seeded, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("broker")
    env = {
        "PATH": str(script.parent),
        "HOME": str(tmp_path),
        "BROKER_PORTAL_URL": seeded.url,
        "BROKER_TOKEN": BILLING_TOKEN,
    }
    listed = subprocess.run(
        [str(script), "subscriptions", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert set(seeded.subscription_ids) <= {item["subscription_id"] for item in json.loads(listed.stdout)["items"]}
    denied = subprocess.run(
        [str(script), "events", "delete", "order_placed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert denied.returncode == cli.Exit.DENIED
    assert "owned by team shop-team" in denied.stderr


def test_replays_and_dead_letters_through_the_contract_routes(run: Callable[..., Result], seeded: Seeded) -> None:
    subscription_id = seeded.subscription_ids[0]
    fake = ContractFake(
        {
            ("POST", r"/subscriptions/[\w-]+/replays"): json_answer({"replay_name": "r-1", "state": "STARTING"}),
            ("GET", r"/subscriptions/[\w-]+/replays/r-1"): json_answer({"replay_name": "r-1", "state": "COMPLETED"}),
            ("GET", r"/subscriptions/[\w-]+/dead-letters"): json_answer(
                {"queue_url": "http://sqs.local/dlq", "count": 2, "sample": [{"order_id": "o-1"}]}
            ),
            ("POST", r"/subscriptions/[\w-]+/dead-letters/redrive"): json_answer({"moved": 2}),
        }
    )
    billing = ("--profile", "billing", "subscriptions")
    started = run(*billing, "replay", subscription_id, "--start", "2026-01-01T00:00:00Z", "--end",
                  "2026-01-02T00:00:00Z", transport=fake)  # fmt: skip
    assert started.exit_code == 0, started.stderr
    assert "replay r-1: STARTING" in started.stdout
    assert fake.seen[-1][2] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    state = as_json(run(*billing, "replay", subscription_id, "--status", "r-1", "--json", transport=fake))
    assert state["state"] == "COMPLETED"
    assert run(*billing, "replay", subscription_id, transport=fake).exit_code == cli.Exit.LOCAL

    letters = run(*billing, "dead-letters", subscription_id, "--sample", "5", transport=fake)
    assert letters.exit_code == 0, letters.stderr
    assert "2 message(s) in http://sqs.local/dlq" in letters.stdout
    assert '{"order_id": "o-1"}' in letters.stdout
    assert fake.seen[-1][1].endswith("dead-letters?sample=5")
    moved = run(*billing, "dead-letters", subscription_id, "--redrive", transport=fake)
    assert "moved 2 message(s)" in moved.stdout
