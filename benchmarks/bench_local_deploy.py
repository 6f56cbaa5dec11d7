"""Real deployments in local mode: Terraform apply time per component kind, a 50-subscription burst, the warm demo.

Starts the broker on its own ports and working directory (``.local-bench``; the core is applied with
Terraform on the first run, then restored from its snapshot), then:

1. per component kind, the median time from ``applying`` to ``deployed`` (the generator's status history),
   over three deployments of each kind, applied together by the local worker (8 at a time);
2. a burst of 50 SQS subscriptions on one event, each to its own queue: seconds until all are ``deployed``;
3. after stopping that broker, ``python -m local_mode --once`` in ``.local`` (warm: the core restored from its
   snapshot; a cold first run is made first when there is none): its wall time.

Targets: median apply <= 20 s per kind, the burst deployed within 5 minutes, the warm demo within 2 minutes.
Run: ``.venv/bin/python benchmarks/bench_local_deploy.py`` (about 10 minutes).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from local_mode.aws import AwsClients  # noqa: E402
from local_mode.broker import LocalBroker  # noqa: E402
from local_mode.client import PortalClient  # noqa: E402
from local_mode.settings import LocalSettings  # noqa: E402
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN, is_settled  # noqa: E402

KINDS_PER_RUN = 3
BURST = 50
DATA = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}


def wait(portal: PortalClient, deployment_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    records: dict[str, dict[str, Any]] = {}
    while len(records) < len(deployment_ids) and time.monotonic() < deadline:
        for deployment_id in deployment_ids:
            if deployment_id not in records:
                record = portal.call("GET", f"/deployments/{deployment_id}")
                if is_settled(record):
                    records[deployment_id] = record
        time.sleep(1.0)
    return [records.get(deployment_id, {"status": "timed out"}) for deployment_id in deployment_ids]


def apply_seconds(record: dict[str, Any]) -> float | None:
    """Seconds from the last ``applying`` to ``deployed`` in the record's history."""
    times = {change["status"]: datetime.fromisoformat(change["at"]) for change in record.get("history", [])}
    if "applying" not in times or "deployed" not in times:
        return None
    return (times["deployed"] - times["applying"]).total_seconds()


def main() -> int:
    settings = LocalSettings(moto_port=4576, portal_port=8010, gateway_port=8011, workdir=REPO / ".local-bench")
    broker = LocalBroker(settings, lambda line: print(f"  - {line}", flush=True))
    started = time.monotonic()
    runtime = broker.start()
    print(f"broker up in {time.monotonic() - started:.0f} s")
    try:
        aws = AwsClients(broker.moto_url, runtime.region)
        shop, billing = PortalClient(broker.portal_url, SHOP_TOKEN), PortalClient(broker.portal_url, BILLING_TOKEN)
        from local_mode.walkthrough import create_team_targets  # noqa: PLC0415

        secret_arn = create_team_targets(aws, runtime.environment, lambda line: None)
        by_kind: dict[str, list[str]] = {}
        for index in range(KINDS_PER_RUN):
            for kind in ("HTTPS", "SQS"):
                body = shop.call(
                    "POST",
                    "/events",
                    {"application": "webshop", "event_type": f"bench_{kind.lower()}_{index}", "connection_type": kind,
                     "data": DATA},
                )  # fmt: skip
                by_kind.setdefault(f"producer {kind}", []).append(body["deployment_id"])
        targets = {
            "SQS": f"arn:aws:sqs:{runtime.region}:{runtime.account_id}:billing-orders",
            "LAMBDA": f"arn:aws:lambda:{runtime.region}:{runtime.account_id}:function:billing-invoicer",
            "HTTPS": "https://billing.example.com/hooks/bench",
        }
        for index in range(KINDS_PER_RUN):
            for kind, target in targets.items():
                request: dict[str, Any] = {
                    "event_type": f"bench_https_{index}", "version": 1, "target_unit": f"unit{kind.lower()}",
                    "connection_type": kind, "connection_string": target,
                }  # fmt: skip
                if kind == "HTTPS":
                    request["auth"] = {"type": "API_KEY", "secret_arn": secret_arn}
                by_kind.setdefault(f"consumer {kind}", []).append(
                    billing.call("POST", "/subscriptions", request)["deployment_id"]
                )
        rows = []
        for kind, deployment_ids in by_kind.items():
            portal = shop if kind.startswith("producer") else billing
            records = wait(portal, deployment_ids, timeout=900)
            seconds = [value for record in records if (value := apply_seconds(record)) is not None]
            statuses = sorted({record["status"] for record in records})
            rows.append((kind, statistics.median(seconds) if seconds else float("nan"), statuses))

        sqs = aws.client("sqs")
        for index in range(BURST):
            sqs.create_queue(QueueName=f"billing-burst-{index}", tags={"event-broker": runtime.environment})
        burst_started = time.monotonic()
        burst = [
            billing.call(
                "POST",
                "/subscriptions",
                {"event_type": "bench_sqs_0", "version": 1, "target_unit": f"burst{index}", "connection_type": "SQS",
                 "connection_string": f"arn:aws:sqs:{runtime.region}:{runtime.account_id}:billing-burst-{index}"},
            )["deployment_id"]
            for index in range(BURST)
        ]  # fmt: skip
        burst_records = wait(billing, burst, timeout=900)
        burst_seconds = time.monotonic() - burst_started
        burst_deployed = sum(record["status"] == "deployed" for record in burst_records)
    finally:
        broker.stop()

    demo = [sys.executable, "-m", "local_mode", "--once"]
    if not (REPO / ".local" / "core-snapshot" / "fingerprint").exists():
        print("no snapshot of the core in .local yet: a cold demo run first", flush=True)
        subprocess.run(demo, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    demo_started = time.monotonic()
    demo_code = subprocess.run(demo, cwd=REPO, check=False, stdout=subprocess.DEVNULL).returncode
    demo_seconds = time.monotonic() - demo_started

    print()
    print(f"{'component kind':20} {'median apply':>13}  (target <= 20 s)  statuses")
    for kind, median, statuses in rows:
        print(f"{kind:20} {median:>11.1f} s  {'met' if median <= 20 else 'missed':>16}  {', '.join(statuses)}")
    print(
        f"burst of {BURST} SQS subscriptions: {burst_deployed}/{BURST} deployed in {burst_seconds:.0f} s "
        "(target <= 300 s)"
    )
    print(f"make demo ONCE=1, warm: {demo_seconds:.0f} s, exit {demo_code} (target <= 120 s)")
    return 0 if burst_deployed == BURST and demo_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
