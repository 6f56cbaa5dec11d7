"""How many buses, APIs, registries and accounts a large catalogue needs against the AWS quotas.

Plans 1,000 event types and 10,000 subscriptions (by default) with the portal's own counting
(``broker_contract.capacity``) and prints, for every counted kind, how many are needed, the limit
one bus / API / registry / account gives under the environment's quotas, and how many of those the
plan calls for. It also measures the rule pattern of a typical subscription against the pattern
quota, and what a quota check costs the portal (catalog reads per request).

    .venv/bin/python benchmarks/bench_quota_plan.py [--environment dev] [--event-types 1000]
        [--versions 2] [--https-share 0.5] [--subscriptions 10000] [--https-subscription-share 0.2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from broker_contract.capacity import (  # noqa: E402 - the repository root goes on the path first
    COUNTED,
    TARGETS_PER_SUBSCRIPTION_RULE,
    plan,
    subscription_demand,
    version_demand,
)
from broker_contract.config import environment_policy  # noqa: E402
from broker_contract.names import IDENTIFIER_MAX_LENGTH, MAX_VERSION, detail_type  # noqa: E402
from broker_contract.routing import event_pattern, event_pattern_json  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", default="dev", help="quotas of config/<environment>.json")
    parser.add_argument("--event-types", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=2, help="versions per event type")
    parser.add_argument("--https-share", type=float, default=0.5, help="share of event types produced over HTTPS")
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--https-subscription-share", type=float, default=0.2)
    args = parser.parse_args(argv)

    _, quotas = environment_policy(args.environment)
    https_event_types = round(args.event_types * args.https_share)
    https_subscriptions = round(args.subscriptions * args.https_subscription_share)
    started = time.perf_counter()
    rows = plan(
        quotas,
        event_types=args.event_types,
        versions_per_event_type=args.versions,
        https_event_types=https_event_types,
        subscriptions=args.subscriptions,
        https_subscriptions=https_subscriptions,
    )
    elapsed_ms = (time.perf_counter() - started) * 1000

    print(
        f"plan: {args.event_types:,} event types x {args.versions} versions ({https_event_types:,} over HTTPS), "
        f"{args.subscriptions:,} subscriptions ({https_subscriptions:,} HTTPS); quotas of {args.environment}"
    )
    print(f"{'counted kind':<82} {'needed':>7} {'limit':>7}  verdict")
    for row in rows:
        counted = COUNTED[row.counter]
        quota_value = int(getattr(quotas, counted.quota)) + row.needed - row.limit
        verdict = (
            f"fits one {counted.scope}"
            if row.fits
            else f"{row.scopes_needed} {counted.scopes}, or raise {counted.quota} to {quota_value:,}"
        )
        print(f"{counted.what:<82} {row.needed:>7,} {row.limit:>7,}  {verdict}")
    buses = next(row.scopes_needed for row in rows if row.counter == "rules")
    print(
        f"event buses the rules would spread over: {buses} of {quotas.event_buses_per_account} per account; "
        "the broker runs one bus per environment, so it is rules_per_event_bus that must be raised"
    )
    print(f"targets per rule: {TARGETS_PER_SUBSCRIPTION_RULE} of {quotas.targets_per_rule} (fixed by AWS)")

    plain = event_pattern("webshop", detail_type("order_placed", 1), "billing")
    filtered = event_pattern(
        "webshop", detail_type("order_placed", 1), "billing", {"currency": ["EUR"], "country": ["FR", "DE", "IT"]}
    )
    longest = IDENTIFIER_MAX_LENGTH
    longest_name = event_pattern("a" * longest, detail_type("b" * longest, MAX_VERSION), "c" * longest)
    print(
        f"rule pattern characters: {len(event_pattern_json(plain))} without filter, "
        f"{len(event_pattern_json(filtered))} with a 2-field filter, {len(event_pattern_json(longest_name))} "
        f"for the longest names; quota {quotas.event_pattern_characters} leaves "
        f"{quotas.event_pattern_characters - len(event_pattern_json(longest_name))} characters for a content filter"
    )
    reads = {
        "subscribe (LAMBDA/SQS)": len(subscription_demand("SQS")),
        "subscribe (HTTPS)": len(subscription_demand("HTTPS")),
        "register an SQS event type": len(version_demand("SQS", 1, new_event_type=True)),
        "register an HTTPS event type": len(version_demand("HTTPS", 1, new_event_type=True)),
    }
    print(
        "quota check cost (consistent GetItem per counter, no Scan): "
        + ", ".join(f"{what} {count}" for what, count in reads.items())
    )
    print(f"planning time: {elapsed_ms:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
