"""Schemathesis against the live portal on loopback, over moto_server: ``make fuzz``.

Starts moto_server and the portal (Chalice's local server, as local mode does) on free loopback ports,
creates the catalog table, buckets, bus and archive the broker stack would, seeds one event type and
one subscription, then runs ``st run`` with every check, the stateful phase on and enough examples for
well over 1,000 requests. Exit status is schemathesis's (0: no failure). Nothing leaves 127.0.0.1.

``python -m tests.support.portal_fuzz [--max-examples N] [--seed S]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from chalicelib.settings import PortalStage, RegistryMode

from broker_contract.config import RuntimeConfig
from tests.support.portal_wiring import create_buckets, create_catalog_table, runtime_config

REPO = Path(__file__).resolve().parents[2]
PORTAL_DIR = REPO / "portal_chalice"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
TOKENS = {"fuzz-shop-token": "shop-team", "fuzz-billing-token": "billing-team"}
#: what each fuzzing team may target (issue 9: undeclared targets are 403): the seed's Lambda account and
#: any function, queue or secret name there, so the stateful phase has subscriptions to follow
TEAM_TARGETS = {
    team: {
        "accounts": ["111122223333"],
        "lambda_functions": ["*"],
        "sqs_queues": ["*"],
        "secrets": ["*"],
        "https_hosts": ["*.example.com"],
    }
    for team in TOKENS.values()
}
ORDER_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def call(url: str, method: str, token: str, payload: Any) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextmanager
def running(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def aws_env(endpoint: str, region: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BROKER_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "PYTHONPATH": os.pathsep.join([str(REPO), str(PORTAL_DIR)]),
        }
    )
    return env


def provision(endpoint: str) -> dict[str, str]:
    """The broker's core resources in moto; the portal's ``BROKER_*`` environment for them."""
    config = runtime_config()
    clients = {
        name: boto3.client(
            name,
            region_name=config.region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for name in ("dynamodb", "s3", "events")
    }
    create_catalog_table(clients["dynamodb"], config.catalog_table_name)
    create_buckets(clients["s3"], config)
    clients["events"].create_event_bus(Name=config.event_bus_name)
    clients["events"].create_archive(
        ArchiveName=f"{config.environment}-event-broker-archive", EventSourceArn=config.event_bus_arn
    )
    return config.to_env()


def seed(portal: str) -> None:
    event = {
        "application": "shop",
        "event_type": "order-created",
        "connection_type": "HTTPS",
        "data": ORDER_DATA,
        "compatibility_mode": "NONE",
    }
    call(f"{portal}/events", "POST", "fuzz-shop-token", event)
    subscription = {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "LAMBDA",
        "connection_string": "arn:aws:lambda:eu-west-1:111122223333:function:bill-order",
    }
    call(f"{portal}/subscriptions", "POST", "fuzz-shop-token", subscription)


CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


def serve(host: str, port: int) -> int:
    """The portal as local mode serves it, with every HTTP method routed to the app.

    Python's HTTP server answers a method it has no ``do_<METHOD>`` for (TRACE, QUERY ...) with 501;
    API Gateway, which Chalice's local server stands in for, never does. Routed to the app, such
    methods get the portal's 405 with ``Allow``, as undeclared methods of a known path do.
    """
    from chalice.local import ChaliceRequestHandler  # noqa: PLC0415 - only the serving process needs it

    from local_mode import portal_server  # noqa: PLC0415

    def any_method(self: Any, name: str) -> Any:
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._generic_handle
        raise AttributeError(name)

    handler: Any = ChaliceRequestHandler
    handler.__getattr__ = any_method
    return portal_server.main(["--host", host, "--port", str(port)])


def schemathesis_command(portal: str, max_examples: int, seed_value: int, report: Path) -> list[str]:
    return [
        str(BIN / "st"),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{portal}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed_value),
        "--workers",
        "1",
        "--header",
        "Authorization: Bearer fuzz-shop-token",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]


#: the issue's bar: at least this many requests in one run
MIN_TEST_CASES = 1000


def test_cases(output: str) -> int:
    """Test cases schemathesis generated, from its summary line ("N generated, ..."); each is a request or more."""
    found = re.findall(r"(\d+) generated", output)
    return int(found[-1]) if found else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.portal_fuzz")
    parser.add_argument("--max-examples", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(HOST, args.serve)
    with tempfile.TemporaryDirectory(prefix="portal-fuzz-") as raw:
        work = Path(raw)
        moto_port, portal_port = free_port(), free_port()
        endpoint, portal = f"http://{HOST}:{moto_port}", f"http://{HOST}:{portal_port}"
        env = aws_env(endpoint, "eu-west-1")
        moto_command = [str(BIN / "moto_server"), "-H", HOST, "-p", str(moto_port)]
        with running(moto_command, {**env, "MOTO_ACCOUNT_ID": "123456789012"}, work, work / "moto.log") as moto:
            wait_for(f"{endpoint}/moto-api/", moto)
            tokens = work / "tokens.json"
            tokens.write_text(json.dumps(TOKENS))
            teams = work / "teams.json"
            teams.write_text(json.dumps(TEAM_TARGETS))
            stage = PortalStage(
                runtime=RuntimeConfig.from_env(provision(endpoint)),
                tokens_file=tokens,
                teams_file=teams,
                registry_mode=RegistryMode.LOCAL,
                aws_endpoint_url=endpoint,
            )
            portal_env = {**env, **stage.to_env()}
            portal_command = [sys.executable, "-m", "tests.support.portal_fuzz", "--serve", str(portal_port)]
            with running(portal_command, portal_env, PORTAL_DIR, work / "portal.log") as server:
                wait_for(f"{portal}/health", server)
                seed(portal)
                report = work / "report"
                command = schemathesis_command(portal, args.max_examples, args.seed, report)
                result = subprocess.run(command, check=False, cwd=work, capture_output=True, text=True)
                print(result.stdout[-6000:] + result.stderr[-2000:])
                cases = test_cases(result.stdout)
                print(f"schemathesis: exit {result.returncode}, {cases} test cases")
                unhandled = [
                    line for line in (work / "portal.log").read_text().splitlines() if "unhandled error" in line
                ]
                if unhandled:
                    print("portal logged unhandled errors:\n" + "\n".join(unhandled[:20]))
                    return 1
                if result.returncode == 0 and cases < MIN_TEST_CASES:
                    print(f"only {cases} test cases (< {MIN_TEST_CASES}): raise --max-examples")
                    return 1
                return result.returncode


if __name__ == "__main__":
    sys.exit(main())
