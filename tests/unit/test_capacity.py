"""The capacity plan counts what the portal counts, against the environment's quotas."""

from __future__ import annotations

import pytest

from benchmarks.bench_quota_plan import main
from broker_contract.capacity import plan, subscription_demand, version_demand
from broker_contract.config import Quotas


def test_a_large_catalogue_needs_raised_quotas() -> None:
    rows = {
        row.counter: row
        for row in plan(
            Quotas(),
            event_types=1000,
            versions_per_event_type=2,
            https_event_types=500,
            subscriptions=10_000,
            https_subscriptions=2000,
        )
    }
    assert (rows["rules"].needed, rows["rules"].limit, rows["rules"].scopes_needed) == (10_000, 299, 34)
    assert (rows["schemas"].needed, rows["api_resources"].needed, rows["usage_plans"].needed) == (2000, 1500, 1000)
    assert rows["api_destinations"].fits and not rows["rules"].fits
    raised = {
        row.counter: row
        for row in plan(
            Quotas(rules_per_event_bus=10_001),
            event_types=0,
            versions_per_event_type=1,
            https_event_types=0,
            subscriptions=10_000,
            https_subscriptions=0,
        )
    }
    assert raised["rules"].fits


def test_demands_follow_the_connection_type() -> None:
    assert subscription_demand("LAMBDA") == {"rules": 1}
    assert subscription_demand("HTTPS") == {"rules": 1, "api_destinations": 1, "connections": 1}
    assert version_demand("SQS", 1, new_event_type=True) == {"schemas": 1}
    assert version_demand("HTTPS", 2) == {"schemas": 2, "api_resources": 2, "usage_plans": 2, "api_keys": 2}


def test_the_benchmark_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--event-types", "10", "--subscriptions", "400"]) == 0
    out = capsys.readouterr().out
    assert "rules on the event bus (one per subscription)" in out
    assert "2 event buses, or raise rules_per_event_bus to 401" in out
