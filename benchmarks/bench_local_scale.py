"""Local mode at catalog scale: 1,000 event types and 3,000 subscriptions through the portal's HTTP API.

Starts local mode's broker (``LocalBroker``: the embedded AWS, the core stacks provisioned in it, the portal
under ``chalice local``) on free loopback ports, without Terraform and without the generator worker: the
worker would synthesize 4,000 stacks, which measures cdktf rather than the catalog (the deployment files
still land in the embedded S3 and their notifications in the generator queue, as in ``make demo``).

Then, as the shop team and the billing team of ``local_mode/demo_teams.json``:

1. creates the event types with ``POST /events`` from 20 threads, except two windows of ``--window`` creates
   made one at a time, whose latency is the figure: the window that ends at 100 event types and the one that
   ends at 1,000. The embedded AWS's resident memory (RSS) is read after each window;
2. creates 3 subscriptions per event type (3,000) with ``POST /subscriptions`` from 20 threads;
3. reads everything back through ``GET /events`` and ``GET /subscriptions`` (every page) and checks that
   every acknowledged (201) event type and subscription is listed.

Prints the figures side by side and the ratio of create latency at 1,000 to that at 100 (target: at most
1.5), RSS (target: flat, i.e. growing with what the catalog holds, not per transaction), every 5xx and every
lost write. Exit status 1 when a request got a 5xx, an acknowledged write is missing, or a target is missed.

Usage: ``.venv/bin/python benchmarks/bench_local_scale.py [--events 1000] [--subscriptions-per-event 3]
[--threads 20] [--window 50]`` (about 3 minutes on 2 cores). The synthesized core stacks are kept in
``.local/bench_local_scale/`` so a second run starts in seconds.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from broker_contract.config import RuntimeConfig  # noqa: E402
from local_mode.broker import LocalBroker  # noqa: E402
from local_mode.client import PortalClient, Response  # noqa: E402
from local_mode.processes import free_port  # noqa: E402
from local_mode.settings import LocalSettings  # noqa: E402
from local_mode.terraform import TerraformDecision  # noqa: E402
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN  # noqa: E402

RATIO_TARGET = 1.5
DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["order_id"],
}
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:bench-consumer-{number}"


class PortalOnlyBroker(LocalBroker):
    """Local mode without the generator worker; with ``direct``, the portal under ``local_mode.portal_server``."""

    def __init__(self, settings: LocalSettings, report: Callable[[str], None], direct: bool) -> None:
        super().__init__(settings, report)
        self.direct = direct

    def portal_command(self) -> tuple[list[str], str]:
        if not self.direct:
            return super().portal_command()
        where = ["--host", self.settings.host, "--port", str(self.settings.portal_port), "--stage", "local"]
        return [self.settings.python, "-m", "local_mode.portal_server", *where], "Chalice local server, backlog 128"

    def _start_worker(self, runtime: RuntimeConfig) -> None:
        self.report("generator worker not started (the benchmark measures the catalog, not synthesis)")


@dataclass
class Tally:
    """Every answer the portal gave, by kind of request; thread-safe."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, send: Callable[[], Response], identity: Callable[[Any], str]) -> None:
        started = time.perf_counter()
        try:
            response = send()
        except OSError as error:
            with self.lock:
                self.failures.append(f"{kind}: no answer ({error})")
            return
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies.setdefault(kind, []).append(elapsed)
            if response.status == 201:
                self.acknowledged.setdefault(kind, []).append(identity(response.body))
            else:
                self.failures.append(f"{kind}: {response.status} {response.error_message()}")

    def server_errors(self) -> list[str]:
        return [failure for failure in self.failures if ": 5" in failure or "no answer" in failure]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def event_body(number: int) -> dict[str, Any]:
    return {
        "application": "benchshop",
        "event_type": f"bench_event_{number:04d}",
        "connection_type": "HTTPS" if number % 2 else "SQS",
        "data": DATA_SCHEMA,
    }


def subscription_body(event_number: int, copy: int) -> dict[str, Any]:
    return {
        "event_type": f"bench_event_{event_number:04d}",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "SQS",
        "connection_string": QUEUE_ARN.format(number=copy),
    }


def create_events(shop: PortalClient, tally: Tally, numbers: Iterable[int], kind: str, threads: int) -> None:
    def one(number: int) -> None:
        tally.timed(
            kind, lambda: shop.request("POST", "/events", event_body(number)), lambda b: b["event"]["event_type"]
        )

    if threads == 1:
        for number in numbers:
            one(number)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, numbers))


def listed(portal: PortalClient, path: str, key: str) -> set[str]:
    """Every ``key`` of every page of a listing."""
    found: set[str] = set()
    cursor: str | None = None
    while True:
        page = portal.call("GET", f"{path}?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        found.update(item[key] for item in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def figures(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100, help="the catalog size of the first latency window")
    parser.add_argument("--subscriptions-per-event", type=int, default=3)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--window", type=int, default=50, help="sequential creates timed at each size")
    parser.add_argument(
        "--portal",
        choices=("direct", "chalice-local"),
        default="direct",
        help="direct: local_mode.portal_server (listen backlog 128); chalice-local: what LocalBroker runs",
    )
    args = parser.parse_args(argv)
    if not 0 < args.window <= args.small < args.events - args.window:
        parser.error("need 0 < --window <= --small < --events - --window")

    workdir = ROOT / ".local" / "bench_local_scale"
    settings = LocalSettings(
        moto_port=free_port(),
        portal_port=free_port(),
        workdir=workdir,
        terraform=TerraformDecision(False, "the scale benchmark never runs terraform"),
    )
    began = time.monotonic()
    broker = PortalOnlyBroker(settings, lambda line: print(f"  - {line}", flush=True), args.portal == "direct")
    print("Starting local mode (embedded AWS, core stacks, portal)...", flush=True)
    broker.start()
    try:
        return run(broker, args, began)
    finally:
        broker.stop()


def run(broker: LocalBroker, args: argparse.Namespace, began: float) -> int:
    shop = PortalClient(broker.portal_url, SHOP_TOKEN, timeout=120)
    billing = PortalClient(broker.portal_url, BILLING_TOKEN, timeout=120)
    moto_pid = broker.processes["moto"].pid
    tally = Tally()
    rss = {"started": rss_mib(moto_pid)}
    windows = {
        args.small: range(args.small - args.window + 1, args.small + 1),
        args.events: range(args.events - args.window + 1, args.events + 1),
    }
    print(f"Creating {args.events} event types ({args.threads} threads; timed one at a time at each size)...")
    previous = 0
    for size, window in windows.items():
        create_events(shop, tally, range(previous + 1, window.start), "POST /events (concurrent)", args.threads)
        create_events(shop, tally, window, f"POST /events at {size}", 1)
        rss[f"{size} events"] = rss_mib(moto_pid)
        previous = size
        print(f"  {size} event types: RSS {rss[f'{size} events']:.0f} MiB ({time.monotonic() - began:.0f} s)")

    total = args.events * args.subscriptions_per_event
    print(f"Creating {total} subscriptions ({args.threads} threads)...", flush=True)
    pairs = list(itertools.product(range(1, args.events + 1), range(args.subscriptions_per_event)))

    def subscribe(pair: tuple[int, int]) -> None:
        body = subscription_body(*pair)
        tally.timed(
            "POST /subscriptions",
            lambda: billing.request("POST", "/subscriptions", body),
            lambda b: b["subscription_id"],
        )

    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(subscribe, pairs))
    rss[f"{total} subscriptions"] = rss_mib(moto_pid)

    print("Reading everything back (GET /events, GET /subscriptions, every page)...", flush=True)
    created_events = {name for kind, names in tally.acknowledged.items() if "/events" in kind for name in names}
    lost_events = created_events - listed(shop, "/events", "event_type")
    created_subscriptions = set(tally.acknowledged.get("POST /subscriptions", []))
    lost_subscriptions = created_subscriptions - listed(billing, "/subscriptions", "subscription_id")

    small, large = (figures(tally.latencies[f"POST /events at {size}"]) for size in windows)
    memory = (rss[f"{args.small} events"], rss[f"{args.events} events"])
    rows = [
        (f"POST /events median (ms), {args.window} one at a time", small[0], large[0]),
        (f"POST /events p95 (ms), {args.window} one at a time", small[1], large[1]),
        ("embedded AWS resident memory (MiB)", *memory),
    ]
    print()
    print(f"{'':<45} {'at ' + str(args.small) + ' events':>16} {'at ' + str(args.events) + ' events':>16} {'ratio':>7}")
    for label, at_small, at_large in rows:
        print(f"{label:<45} {at_small:>16.0f} {at_large:>16.0f} {at_large / at_small:>7.2f}")
    print("embedded AWS memory: " + ", ".join(f"{label} {mib:.0f} MiB" for label, mib in rss.items()))
    for kind in ("POST /events (concurrent)", "POST /subscriptions"):
        median, p95 = figures(tally.latencies[kind])
        count = len(tally.latencies[kind])
        print(f"{kind}, {args.threads} threads: {count} requests, median {median:.0f} ms, p95 {p95:.0f} ms")
    print(
        f"acknowledged: {len(created_events)} event types, {len(created_subscriptions)} subscriptions; "
        f"missing from the listings: {len(lost_events)} event types, {len(lost_subscriptions)} subscriptions"
    )
    errors = tally.server_errors()
    print(f"5xx or unanswered requests: {len(errors)}; other refusals: {len(tally.failures) - len(errors)}")
    for failure in tally.failures[:10]:
        print(f"  {failure}")
    print(f"wall time {time.monotonic() - began:.0f} s")

    problems = []
    if errors or lost_events or lost_subscriptions or tally.failures:
        problems.append("requests failed or acknowledged writes are missing")
    if len(created_events) != args.events or len(created_subscriptions) != total:
        problems.append("not every create was acknowledged")
    ratio = large[0] / small[0]
    if ratio > RATIO_TARGET:
        problems.append(f"create latency ratio {ratio:.2f} > {RATIO_TARGET}")
    for problem in problems:
        print(f"MISSED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
