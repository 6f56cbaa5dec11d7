"""The catalog pages in headless Chromium (Debian's ``chromium``, driven by Playwright) against the local broker.

Each test writes a screenshot of its page under the test output directory (``test-output/catalog``, or
``$BROKER_TEST_OUTPUT``). Routes of issue 10 are faked in the browser (``page.route``), either with answers shaped
as the agreed contract or as a gateway without them answers (403 without the portal's envelope): then the pages
must degrade politely.
Skipped, with the reason, where Chromium or Playwright is missing (``make test`` installs Chromium where it can).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN
from tests.e2e.team_tools.conftest import ORDER_V2, ORDER_V3, Seeded, settle

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CHROMIUM = os.environ.get("BROKER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None:
    pytest.skip(
        "catalog browser tests skipped: no Chromium on this machine (install Debian's 'chromium' package: "
        "apt-get install -y chromium, which 'make test' does when it runs as root with apt; "
        "or point BROKER_CHROMIUM at a Chromium binary)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="catalog browser tests need playwright (make install)")
Page = sync_api.Page
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        # root (CI, containers) cannot use Chromium's sandbox; a small /dev/shm (containers) crashes its renderer
        args = ["--disable-dev-shm-usage"] + (["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, seeded: Seeded) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def shots(test_output: Path) -> Path:
    path = test_output / "catalog"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(page: Any, seeded: Seeded, token: str = SHOP_TOKEN, where: str = "") -> None:
    page.goto(f"{seeded.url}/catalog{where}")
    page.get_by_label("Portal token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def unlabelled_controls(page: Any) -> list[str]:
    """Form controls a screen reader would announce without a name."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
                .map((el) => el.outerHTML)"""
        )
    )


def test_the_page_asks_for_a_token_and_shows_the_portals_refusal(page: Any, seeded: Seeded, shots: Path) -> None:
    page.goto(f"{seeded.url}/catalog")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the event catalog")
    assert page.evaluate("() => document.activeElement.id") == "token"
    sign_in(page, seeded, token="not-a-token")
    expect(page.get_by_role("alert")).to_contain_text("missing or unknown bearer token")
    expect(page.get_by_label("Portal token")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('broker.catalog.token')") is None
    page.screenshot(path=shots / "sign-in.png", full_page=True)


def test_events_list_searches_and_filters(page: Any, seeded: Seeded, shots: Path) -> None:
    sign_in(page, seeded)
    rows = page.locator("#events-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#events-summary")).to_have_text("Showing 1\u20132 of 2 events")
    assert unlabelled_controls(page) == []
    page.screenshot(path=shots / "events.png", full_page=True)

    page.get_by_label("Search").fill("stock")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("stock_changed")
    assert "q=stock" in page.url, "filters live in the address, so a reload or a shared link keeps them"
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(2)

    page.get_by_label("Connection type").select_option("HTTPS")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("order_placed")
    page.get_by_label("Connection type").select_option("")
    page.get_by_label("Application").select_option("warehouse")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("warehouse")
    page.get_by_label("Application").select_option("")
    page.get_by_label("Owner").select_option("shop-team")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("no such thing")
    expect(page.locator("#events-summary")).to_have_text("No events match")

    page.reload()
    expect(page.get_by_label("Search")).to_have_value("no such thing")
    expect(rows).to_have_count(0)


def without_contract_endpoints(page: Any) -> None:
    """Answer issue 10's routes as API Gateway answers for routes a portal does not have."""

    def missing(route: Any) -> None:
        route.fulfill(status=403, content_type="application/json",
                      body=json.dumps({"message": "Missing Authentication Token"}))  # fmt: skip

    for pattern in ("**/events/order_placed/diff?*", "**/events/order_placed/subscriptions?*",
                    "**/events/order_placed/versions/*/test"):  # fmt: skip
        page.route(pattern, missing)


def test_one_event_versions_schema_diff_and_how_to_send(page: Any, seeded: Seeded, shots: Path) -> None:
    without_contract_endpoints(page)
    sign_in(page, seeded, where="#/events/order_placed")
    expect(page.get_by_role("heading", level=1)).to_have_text("order_placed")
    versions = page.locator("section[aria-labelledby=versions-title] tbody tr")
    expect(versions).to_have_count(3)
    expect(versions.nth(1)).to_contain_text("compatible")
    expect(versions.nth(2)).to_contain_text("breaking")

    fields = page.locator("#schema tbody th")
    expect(fields).to_have_text(["amount", "currency", "order_id"])
    expect(page.locator("#schema")).to_contain_text('enum: ["EUR"]')

    # no diff endpoint on this portal: computed in the page, verdict recorded for consecutive versions
    verdict = page.locator("#diff-verdict")
    expect(verdict).to_contain_text("v2 → v3: backward breaking")
    expect(verdict).to_contain_text("computed in the page")
    expect(page.locator("#diff")).to_contain_text("numbers below the minimum 1")
    expect(page.locator("#diff-table tbody tr")).to_have_count(2)
    page.get_by_label("From version").select_option("1")
    page.get_by_label("To version").select_option("3")
    page.get_by_role("button", name="Compare").click()
    expect(verdict).to_contain_text("v1 → v3: backward unknown")
    page.get_by_label("To version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    expect(verdict).to_contain_text("v1 → v2: backward compatible")
    expect(page.locator("#diff-table tbody tr.diff-added")).to_have_text(["currencyaddedstring, optional"])

    send = page.locator("#send")
    expect(send).to_contain_text('curl -X POST "$PRODUCER_API_URL/order_placed/3"')
    expect(send).to_contain_text('"currency":"EUR"')
    expect(page.locator("#subscriptions")).to_contain_text("does not list an event's subscriptions yet")
    page.get_by_role("button", name="Check this event").click()
    expect(page.locator("#try-result")).to_contain_text("cannot test events yet")

    graph = page.locator("#event-graph svg")
    expect(graph).to_have_attribute("data-nodes", "3")
    expect(graph).to_have_attribute("aria-label", "Graph of order_placed: 1 producing applications, 1 events, "
                                    "1 consumers, 2 connections")  # fmt: skip
    assert unlabelled_controls(page) == []
    page.screenshot(path=shots / "event.png", full_page=True)


def test_one_event_with_the_contract_endpoints(page: Any, seeded: Seeded, shots: Path) -> None:
    diff = {
        "event_type": "order_placed",
        "from": 2,
        "to": 3,
        "mode": "FULL",
        "backward": {"compatible": False, "problems": [{"pointer": "/currency/enum", "message": "enum narrowed: USD"}]},
        "forward": {"compatible": True, "problems": []},
        "from_schema": ORDER_V2,
        "to_schema": ORDER_V3,
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
        "valid": True,
        "errors": [],
        "detail_type": "order_placed.3",
        "matches": [
            {
                "subscription_id": seeded.subscription_ids[0],
                "team": "billing-team",
                "target_unit": "billing",
                "connection_type": "SQS",
            }
        ],
    }
    seen: list[str] = []

    def fake(answer: dict[str, Any]) -> Any:
        def handle(route: Any) -> None:
            seen.append(route.request.url)
            assert route.request.headers["authorization"] == f"Bearer {SHOP_TOKEN}"
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

        return handle

    page.route("**/events/order_placed/diff?*", fake(diff))
    page.route("**/events/order_placed/subscriptions?*", fake(subscriptions))
    page.route("**/events/order_placed/versions/3/test", fake(tested))
    sign_in(page, seeded, where="#/events/order_placed")
    verdict = page.locator("#diff-verdict")
    expect(verdict).to_contain_text("v2 → v3: backward breaking · forward compatible (mode FULL)")
    expect(verdict).not_to_contain_text("computed in the page")
    expect(page.locator("#diff")).to_contain_text("/currency/enum: enum narrowed: USD")
    expect(page.locator("#subscriptions tbody tr")).to_have_count(1)
    expect(page.locator("#subscriptions tbody tr")).to_contain_text("deployed")
    page.get_by_role("button", name="Check this event").click()
    expect(page.locator("#try-result")).to_contain_text("valid detail type order_placed.3")
    expect(page.locator("#try-result")).to_contain_text(f"{seeded.subscription_ids[0]} billing-team/billing (SQS)")
    assert any("diff?from=2&to=3" in url for url in seen)
    page.screenshot(path=shots / "event-contract.png", full_page=True)


def test_subscriptions_are_for_the_owner_only(page: Any, seeded: Seeded) -> None:
    page.route(
        "**/events/order_placed/subscriptions?*",
        lambda route: route.fulfill(
            status=403,
            content_type="application/json",
            body=json.dumps({"error": {"code": "forbidden", "message": "owner only", "details": []}}),
        ),
    )
    sign_in(page, seeded, token=BILLING_TOKEN, where="#/events/order_placed")
    expect(page.locator("#subscriptions")).to_contain_text("Only the owning team (shop-team) sees the subscriptions")


def test_graph_of_the_catalog_is_drawn_and_keyboard_navigable(page: Any, seeded: Seeded, shots: Path) -> None:
    sign_in(page, seeded, where="#/graph")
    svg = page.locator("#graph svg")
    expect(svg).to_have_attribute("data-edges", "4")
    expect(svg.locator("g.node.application")).to_have_count(2)
    expect(svg.locator("g.node.event")).to_have_count(2)
    expect(svg.locator("g.node.consumer")).to_have_count(2)
    expect(svg.locator("path.edge")).to_have_count(4)
    page.screenshot(path=shots / "graph.png", full_page=True)

    page.get_by_label("Show only events containing").fill("stock")
    expect(svg.locator("g.node.event")).to_have_count(1)
    expect(page.locator("#graph svg g.node")).to_have_count(3)

    page.locator("#graph svg a").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("stock_changed")


def test_deployment_page_shows_history_and_terraform(page: Any, seeded: Seeded, shots: Path) -> None:
    deployment_id = seeded.order_deployments[0]
    assert settle(seeded.shop, deployment_id)["status"] == "synthesized"
    sign_in(page, seeded, where=f"#/deployments/{deployment_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Deployment {deployment_id}")
    expect(page.locator("ol.history li")).to_have_count(2)
    expect(page.locator("ol.history li").first).to_contain_text("pending")
    expect(page.locator("ol.history li").nth(1)).to_contain_text("synthesized")
    expect(page.locator("#terraform pre")).to_contain_text('"aws_api_gateway_model"')
    page.screenshot(path=shots / "deployment.png", full_page=False)

    page.goto(f"{seeded.url}/catalog#/deployments/dep-0000000000000000")
    expect(page.get_by_role("alert")).to_contain_text("deployment dep-0000000000000000 not found")


def test_a_failed_deployment_shows_its_error(page: Any, seeded: Seeded, shots: Path) -> None:
    failed = {
        "deployment_id": "dep-00000000000000ff",
        "kind": "consumer",
        "component_id": "consumer-sub-0000000000000001",
        "action": "deploy",
        "sequence": 1,
        "status": "failed",
        "requested_by": "shop-team",
        "requested_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:01:00Z",
        "file_bucket": "b",
        "file_key": "k",
        "event_type": "order_placed",
        "version": 2,
        "subscription_id": "sub-0000000000000001",
        "error": "terraform apply failed: AccessDenied on sqs:SetQueueAttributes",
        "history": [
            {"status": "pending", "at": "2026-01-01T00:00:00Z"},
            {"status": "synthesized", "at": "2026-01-01T00:00:10Z"},
            {"status": "applying", "at": "2026-01-01T00:00:20Z"},
            {"status": "failed", "at": "2026-01-01T00:01:00Z", "detail": "apply exited 1"},
        ],
    }
    page.route(
        "**/deployments/dep-00000000000000ff",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(failed)),
    )
    sign_in(page, seeded, where="#/deployments/dep-00000000000000ff")
    expect(page.locator("#deployment")).to_contain_text("Status failed")
    expect(page.locator("#deployment")).not_to_contain_text("refreshing")
    expect(page.locator("section[aria-labelledby=error-title] pre")).to_have_text(failed["error"])
    expect(page.locator("ol.history li")).to_have_count(4)
    expect(page.locator("ol.history li").last).to_contain_text("apply exited 1")
    page.screenshot(path=shots / "deployment-failed.png", full_page=True)
