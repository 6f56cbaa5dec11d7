"""``python -m generator worker`` as a real process against moto_server: it polls, and stops cleanly on signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from .conftest import NAMES, REGION, RUNTIME

pytestmark = pytest.mark.xdist_group("generator")

REPO = Path(__file__).resolve().parents[3]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_worker_polls_then_exits_0_on_signal(moto_endpoint: str, stop: signal.Signals) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=REGION,
    )
    queue_url = sqs.create_queue(QueueName=f"{NAMES.generator_queue}-{stop.name.lower()}")["QueueUrl"]
    env = {**os.environ, **CREDENTIALS, **RUNTIME.to_env(), "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "generator", "worker", "--queue-url", queue_url, "--endpoint-url", moto_endpoint,
         "--wait-seconds", "1", "--terraform", "off"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == f"generator worker polling {queue_url} with 4 workers"
        time.sleep(0.5)
        worker.send_signal(stop)
        code = worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == 0, worker.stderr.read() if worker.stderr else ""
