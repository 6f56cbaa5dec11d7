"""``python -m local_mode [--once]``: run the whole broker on loopback and walk through the demo scenario.

Exit codes: 0 done (``--once``) or stopped with Ctrl-C; 1 the walk-through saw a failure; 2 local mode
could not start (Node.js missing, a port in use, a child that did not come up), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from local_mode import walkthrough
from local_mode.aws import AwsClients
from local_mode.broker import LocalBroker, LocalModeError, NodeMissingError
from local_mode.client import PortalError
from local_mode.core import CoreApplyError
from local_mode.processes import PortInUseError, StartupError
from local_mode.settings import MOTO_PORT_VARIABLE, PORTAL_PORT_VARIABLE, LocalSettings, SettingsError
from local_mode.synth import SynthesisError


class Stop(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: leave whatever step is running and clean up."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_mode", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="walk through the scenario, then stop everything")
    parser.add_argument("--moto-port", type=int, help=f"embedded AWS port (default ${MOTO_PORT_VARIABLE} or 4566)")
    parser.add_argument("--portal-port", type=int, help=f"portal port (default ${PORTAL_PORT_VARIABLE} or 8000)")
    parser.add_argument("--skip-walkthrough", action="store_true", help="only start the broker and serve")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="apply the core stacks with terraform even when the snapshot of their last apply still matches",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what every step does")
    return parser.parse_args(argv)


def curl_examples(portal_url: str, deployment_id: str | None = None) -> list[str]:
    """Commands that work as pasted; ``deployment_id`` (one the walk-through made) fills the deployment ones."""
    token = walkthrough.SHOP_TOKEN
    auth = f'-H "Authorization: Bearer {token}"'
    commands = [
        f"curl -s {auth} {portal_url}/events",
        f"curl -s {auth} -H 'Content-Type: application/json' -X POST {portal_url}/events -d "
        """'{"application":"webshop","event_type":"cart_abandoned","connection_type":"HTTPS","""
        """"data":{"type":"object","properties":{"cart_id":{"type":"string"}},"required":["cart_id"]}}'""",
        f'curl -s -H "Authorization: Bearer {walkthrough.BILLING_TOKEN}" {portal_url}/subscriptions',
    ]
    if deployment_id is not None:
        commands += [
            f"curl -s {auth} {portal_url}/deployments/{deployment_id}",
            f"curl -s {auth} {portal_url}/deployments/{deployment_id}/terraform",
        ]
    commands.append(f"curl -s {auth} {portal_url}/events/order_placed/versions/1/producer   # endpoint, key, example")
    commands.append(f"curl -s {portal_url}/openapi.json")
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="  [%(name)s] %(message)s")
    try:
        settings = LocalSettings.from_environment(moto_port=args.moto_port, portal_port=args.portal_port)
        if args.fresh:
            settings = dataclasses.replace(settings, fresh_core=True)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    broker = LocalBroker(settings, lambda message: print(f"  - {message}", flush=True))
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        print("Starting the event broker locally (moto_server stands in for AWS)...", flush=True)
        try:
            runtime = broker.start()
        except NodeMissingError as error:
            print(f"error: {error}.\n       Install Node.js 18+ and run `make demo` again.", file=sys.stderr)
            return 2
        except PortInUseError as error:
            print(
                f"error: {error}. Stop what uses {'them' if len(error.taken) > 1 else 'it'}, or choose other ports: "
                f"{MOTO_PORT_VARIABLE}=... {PORTAL_PORT_VARIABLE}=... make demo "
                "(or --moto-port/--portal-port).",
                file=sys.stderr,
            )
            return 2
        except (StartupError, SynthesisError, CoreApplyError, LocalModeError) as error:
            print(f"error: local mode could not start: {error}", file=sys.stderr)
            print(f"       logs of every process are in {settings.workdir / 'logs'}", file=sys.stderr)
            return 2
        code = 0
        shown_deployment: str | None = None
        if not args.skip_walkthrough:
            print("\nWalk-through:", flush=True)
            try:
                outcome = walkthrough.run(
                    broker.portal_url,
                    AwsClients(broker.moto_url, runtime.region),
                    runtime.environment,
                    say=lambda line: print(line, flush=True),
                )
            except (PortalError, OSError, ValueError) as error:
                print(f"error: the walk-through stopped: {error}", file=sys.stderr)
                outcome = walkthrough.Outcome(failures=[str(error)])
            # the first event's deployment: shop-team owns it, as the curl examples' token does
            shown_deployment = next(iter(outcome.deployment_ids.values()), None)
            if outcome.failures:
                code = 1
                print("\nProblems seen:\n  " + "\n  ".join(outcome.failures), flush=True)
        if args.once:
            print("\n--once: stopping everything.", flush=True)
            return code
        print(f"\nPortal: {broker.portal_url}   embedded AWS: {broker.moto_url}   (Ctrl-C stops everything)")
        print("Demo teams: shop-team (token demo-shop-token), billing-team (token demo-billing-token). Try:")
        for line in curl_examples(broker.portal_url, shown_deployment):
            print(f"  {line}")
        sys.stdout.flush()
        while True:
            dead = broker.check_alive()
            if dead:
                print("error: " + "\n".join(dead), file=sys.stderr)
                return 1
            time.sleep(1)
    except (KeyboardInterrupt, Stop):
        print("\nStopping...", flush=True)
        return 0
    finally:
        # a second Ctrl-C must not interrupt the cleanup and leave children behind
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
