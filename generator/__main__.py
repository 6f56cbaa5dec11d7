"""Command line of the generator.

``python -m generator synth <deployment.json> --out <dir>`` synthesizes one deployment file offline
and prints the path of the written ``cdk.tf.json``. ``python -m generator plan <deployment.json>``
prints what the generator would do with the file, step by step, without doing any of it.
``python -m generator worker --queue-url URL`` long-polls the generator queue and runs the Lambda's
logic (local mode, ``make demo``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from broker_contract.config import RuntimeConfig
from generator.queue import DeploymentQueue, QueueUnavailable
from generator.settings import ENDPOINT_URL_VARIABLE

if TYPE_CHECKING:
    from generator.service import GeneratorService

EXIT_BAD_INPUT = 2
#: names of the worker threads processing a deployment file right now (the others are waiting for messages)
_BUSY: set[str] = set()
#: when a failed deployment file is tried again in local mode
LOCAL_RETRY_SECONDS = 5


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    synth = commands.add_parser(
        "synth",
        help="synthesize one deployment file into <out>/stacks/<stack>/cdk.tf.json, without AWS",
        description=(
            "Synthesize one deployment file offline. The run-time configuration comes from the BROKER_* "
            "environment variables when all are set; otherwise it is derived from config/<environment>.json "
            "with placeholder ids (API id, root resource id, queue URL): fine to read, not to apply."
        ),
    )
    synth.add_argument("deployment", type=Path, help="deployment file (JSON)")
    synth.add_argument("--out", type=Path, required=True, help="output directory")
    synth.add_argument(
        "--environment",
        default=None,
        help="environment for the placeholder configuration (default: the file's environment); must match the file",
    )
    synth.add_argument("--endpoint-url", default=None, help="point provider and backend at this endpoint")
    plan = commands.add_parser(
        "plan",
        help="print what the generator would do with one deployment file, without doing it (no AWS, no terraform)",
        description=(
            "Print the plan the generator executes for one deployment file: record, claim, lease, synthesis, upload, "
            "terraform and the AWS calls around it, status changes. Nothing is executed. The run-time configuration "
            "is the one of 'synth' (BROKER_* variables, else config/<environment>.json with placeholder ids)."
        ),
    )
    plan.add_argument("deployment", type=Path, help="deployment file (JSON)")
    plan.add_argument(
        "--environment", default=None, help="environment of the placeholder configuration (default: the file's)"
    )
    plan.add_argument(
        "--terraform",
        default="auto",
        help="'auto': plan with terraform if one is on the PATH; 'off': plan a generator without terraform; or a path",
    )
    prepare = commands.add_parser(
        "prepare",
        help="build the lazy AWS provider package and warm the jsii caches (container image build)",
        description=(
            "Build the lazy copy of the AWS provider's jsii package, synthesize one example of each kind, and wait "
            "until the jsii kernel has indexed the copy, so later cold starts load it in a fraction of a second."
        ),
    )
    prepare.add_argument("--wait-seconds", type=float, default=120.0, help="longest wait for the jsii index")
    worker = commands.add_parser(
        "worker",
        help="long-poll the generator queue and process deployment files (local mode)",
        description=(
            "Receive S3 notifications from the generator queue and process them like the Lambda does. "
            f"Needs the BROKER_* run-time configuration. Stops on SIGINT/SIGTERM. {ENDPOINT_URL_VARIABLE} or "
            "--endpoint-url points every AWS client at a local endpoint."
        ),
    )
    worker.add_argument("--queue-url", required=True, help="URL of the generator queue")
    worker.add_argument("--endpoint-url", default=None, help="AWS endpoint (moto_server in local mode)")
    worker.add_argument("--wait-seconds", type=int, default=2, help="long-poll wait per receive (0-20)")
    worker.add_argument("--once", action="store_true", help="stop after the queue was found empty once")
    worker.add_argument(
        "--workers",
        type=int,
        default=4,
        help="deployments processed at the same time (threads sharing one cdktf kernel; default 4)",
    )
    worker.add_argument(
        "--retry-after",
        type=int,
        default=LOCAL_RETRY_SECONDS,
        help=f"seconds before a failed deployment file is tried again (default {LOCAL_RETRY_SECONDS})",
    )
    worker.add_argument(
        "--terraform",
        default="auto",
        help="'auto': terraform on the PATH if any; 'off': stop every deployment at synthesized; or a path",
    )
    return parser


def synth_command(args: argparse.Namespace) -> int:
    from generator.plan import InvalidDeploymentFile, parse_deployment_file  # noqa: PLC0415

    try:
        body = args.deployment.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.deployment}: {error.strerror}") from error
    try:
        deployment = parse_deployment_file(body)
    except InvalidDeploymentFile as error:
        raise UsageError(f"{args.deployment}: {error.reason}") from error
    runtime, from_env = _runtime(args.environment or deployment.environment)
    if runtime.environment != deployment.environment:
        source = "the BROKER_* variables" if from_env else "--environment"
        raise UsageError(
            f"{args.deployment}: environment: the file is for {deployment.environment!r}, "
            f"{source} for {runtime.environment!r}"
        )
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415

    try:
        stack = CdktfSynthesizer(endpoint_url=args.endpoint_url).synthesize(deployment, runtime, args.out)
    except ValueError as error:
        # e.g. a subscription whose target EventBridge cannot reach: the file is valid, the stack is impossible
        raise UsageError(f"{args.deployment}: {error}") from error
    print(stack.file)
    return 0


def _runtime(environment: str) -> tuple[RuntimeConfig, bool]:
    from pydantic import ValidationError  # noqa: PLC0415

    from generator.settings import runtime_or_placeholder  # noqa: PLC0415

    try:
        return runtime_or_placeholder(environment)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise UsageError(
            f"configuration of environment {environment!r} (config/{environment}.json or BROKER_* variables): "
            f"{problems}"
        ) from error
    except ValueError as error:
        raise UsageError(f"configuration: {str(error).splitlines()[0]}") from error


def plan_command(args: argparse.Namespace) -> int:
    """Print the plan of one deployment file (the display-only executor): no AWS call, no terraform."""
    from broker_contract.names import deployment_file_key  # noqa: PLC0415
    from generator.plan import (  # noqa: PLC0415
        FileLocation,
        InvalidDeploymentFile,
        parse_deployment_file,
        plan_file,
        render,
    )
    from generator.runner import find_terraform  # noqa: PLC0415
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415

    try:
        body = args.deployment.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.deployment}: {error.strerror}") from error
    if args.terraform not in ("auto", "off") and not Path(args.terraform).is_file():
        raise UsageError(f"--terraform: no file {args.terraform}")
    try:
        deployment = parse_deployment_file(body)
    except InvalidDeploymentFile:
        deployment = None  # the plan says how the generator rejects it
    runtime, _ = _runtime(args.environment or (deployment.environment if deployment else "dev"))
    if deployment is None:
        location = FileLocation("", str(args.deployment))
    else:
        # where the portal writes this file: the record the generator would create points there
        bucket = runtime.producer_bucket_name if deployment.kind == "producer" else runtime.consumer_bucket_name
        location = FileLocation(
            bucket, deployment_file_key(deployment.component_id, deployment.sequence, deployment.deployment_id)
        )
    terraform = args.terraform != "off" and (args.terraform != "auto" or find_terraform() is not None)
    print(render(plan_file(body, location, runtime, CdktfSynthesizer().hooks, terraform=terraform)))
    return 0


def prepare_command(args: argparse.Namespace) -> int:
    import tempfile  # noqa: PLC0415

    from broker_contract.examples import examples  # noqa: PLC0415
    from generator.jsii_provider import lazy_tarball, wait_for_runtime_index  # noqa: PLC0415
    from generator.settings import placeholder_runtime  # noqa: PLC0415
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415

    path, version = lazy_tarball()
    synthesizer = CdktfSynthesizer()
    runtime = placeholder_runtime("dev")
    with tempfile.TemporaryDirectory() as out:
        for name, deployment in examples().items():
            synthesizer.synthesize(deployment, runtime, Path(out) / name)
    if not wait_for_runtime_index(version, args.wait_seconds):
        raise UsageError(f"the jsii kernel did not index {path} within {args.wait_seconds:g}s")
    print(path)
    return 0


def worker_command(args: argparse.Namespace) -> int:

    from generator.handler import build_service  # noqa: PLC0415

    if not 0 <= args.wait_seconds <= 20:
        raise UsageError("--wait-seconds must be between 0 and 20")
    try:
        runtime = RuntimeConfig.from_env()
    except RuntimeError as error:
        raise UsageError(str(error)) from error
    endpoint_url = args.endpoint_url
    if endpoint_url:
        import os  # noqa: PLC0415

        # the service reads the same variable, so its clients and the stacks use the same endpoint
        os.environ[ENDPOINT_URL_VARIABLE] = endpoint_url
    if args.terraform not in ("auto", "off") and not Path(args.terraform).is_file():
        raise UsageError(f"--terraform: no file {args.terraform}")
    if not 1 <= args.workers <= 32:
        raise UsageError("--workers must be between 1 and 32")
    if not 0 <= args.retry_after <= 43200:
        raise UsageError("--retry-after must be between 0 and 43200 seconds")
    first = build_service(runtime, endpoint_url=endpoint_url, terraform=args.terraform)
    services = [first] + [
        build_service(runtime, endpoint_url=endpoint_url, terraform=args.terraform, shared=first)
        for _ in range(args.workers - 1)
    ]
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        del frame
        logging.getLogger(__name__).info("stopping after the current deployments", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"generator worker polling {args.queue_url} with {args.workers} workers", flush=True)
    threads = [
        threading.Thread(target=_poll, args=(service, args, endpoint_url, stop), name=f"worker-{index}", daemon=True)
        for index, service in enumerate(services)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads) and not stop.wait(0.5):
        pass
    # stopping: wait for the deployments being processed; a worker that is only waiting for a message is left to die
    # with the process (a long poll against a slow endpoint would otherwise hold the stop for seconds per worker)
    for thread in threads:
        while thread.is_alive() and thread.name in _BUSY:
            thread.join(0.2)
    return 0


def _poll(service: GeneratorService, args: argparse.Namespace, endpoint_url: str | None, stop: threading.Event) -> None:
    """One worker: receive one message at a time, process it like the Lambda, delete it unless it must be retried.

    One message per receive, so a long apply never holds other messages back: each worker takes the next
    deployment as soon as it is free, and different components deploy in parallel. Two files of one
    component are kept in order by the service (sequence claim, lease) and Terraform's state lock.
    """
    import boto3  # noqa: PLC0415

    from generator.handler import handle_batch  # noqa: PLC0415

    region = service.runtime.region
    queue = DeploymentQueue(
        args.queue_url, lambda: boto3.session.Session(region_name=region).client("sqs", endpoint_url=endpoint_url)
    )
    while not stop.is_set():
        try:
            messages = queue.receive(args.wait_seconds)
        except QueueUnavailable as error:
            # the local endpoint may restart; keep polling rather than dying mid-demo
            logging.getLogger(__name__).warning("%s", error)
            stop.wait(1.0)
            continue
        if not messages:
            if args.once:
                return
            continue
        event = {"Records": [{"messageId": message.message_id, "body": message.body} for message in messages]}
        _BUSY.add(threading.current_thread().name)
        try:
            retry = {item["itemIdentifier"] for item in handle_batch(service, event)["batchItemFailures"]}
            for message in messages:
                if message.message_id in retry:
                    # retried messages come back soon (then, after maxReceiveCount receives, go to the DLQ)
                    queue.retry_in(message.receipt_handle, args.retry_after)
                else:
                    queue.delete(message.receipt_handle)
        finally:
            _BUSY.discard(threading.current_thread().name)


def main(argv: list[str] | None = None) -> int:
    """Run the command; bad input exits 2 with one line on stderr, never a traceback."""
    args = _parser().parse_args(argv)
    level = logging.INFO if args.command == "worker" else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command in ("synth", "plan", "worker"):
        try:
            # checks Node.js up front, so a machine without it gets one line, not a traceback from deep in synthesis
            import modules  # noqa: F401, PLC0415
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    try:
        if args.command == "synth":
            return synth_command(args)
        if args.command == "prepare":
            return prepare_command(args)
        if args.command == "plan":
            return plan_command(args)
        return worker_command(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
