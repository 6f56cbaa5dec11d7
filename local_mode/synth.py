"""Synthesize the core stacks for local mode, in a child process, reusing the last output when nothing changed.

Synthesis runs jsii (a Node.js process and ~1 GB); doing it in a child keeps local mode itself light and
leaves no jsii process behind. The output is reused when a fingerprint of the code that shapes the stacks
(``broker_contract``, ``modules``, ``cdktf_stacks``, ``config``) and of the environment is unchanged, so a
second ``make demo`` starts in seconds.

``python -m local_mode.synth --outdir DIR --environment E --region R --account-id A`` is the child's entry.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from broker_contract.config import EnvironmentConfig

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("broker_contract", "modules", "cdktf_stacks", "config")
FINGERPRINT_FILE = ".local-mode-fingerprint"
STACKS = ("bootstrap", "broker")


class SynthesisError(RuntimeError):
    """The core stacks could not be synthesized."""


def fingerprint(config: EnvironmentConfig, endpoint_url: str, repo: Path = REPO) -> str:
    """Hash of every source file that shapes the core stacks, of ``config`` and of the embedded AWS's address."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(endpoint_url.encode())
    for source in SOURCES:
        for path in sorted((repo / source).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(repo)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def stack_file(outdir: Path, stack: str) -> Path:
    return outdir / "stacks" / stack / "cdk.tf.json"


def state_directory(outdir: Path) -> Path:
    """Where the local bootstrap stack keeps its state (the broker stack's is in the embedded S3)."""
    return outdir.resolve() / "state"


def is_current(config: EnvironmentConfig, outdir: Path, endpoint_url: str) -> bool:
    """True when ``outdir`` holds both core stacks synthesized from the current sources, ``config`` and endpoint."""
    marker = outdir / FINGERPRINT_FILE
    return (
        marker.exists()
        and marker.read_text() == fingerprint(config, endpoint_url)
        and all(stack_file(outdir, stack).exists() for stack in STACKS)
    )


def synthesize(
    config: EnvironmentConfig,
    outdir: Path,
    env: Mapping[str, str],
    endpoint_url: str,
    *,
    python: str = sys.executable,
    timeout: float = 300,
) -> bool:
    """Write the local variant of both core stacks under ``outdir``; False when the previous output was current.

    The bootstrap stack keeps its local state in ``<outdir>/state``.
    """
    if is_current(config, outdir, endpoint_url):
        return False
    current = fingerprint(config, endpoint_url)
    command = [
        python,
        "-m",
        "local_mode.synth",
        "--outdir",
        str(outdir),
        "--config",
        config.model_dump_json(),
        "--endpoint-url",
        endpoint_url,
    ]
    # its own process group: an interruption (Ctrl-C, SIGTERM, timeout) ends the child AND its jsii node processes
    child = subprocess.Popen(
        command,
        cwd=REPO,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise SynthesisError(f"synthesizing the core stacks took longer than {timeout:.0f} s") from error
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    if child.returncode != 0:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-20:])
        raise SynthesisError(f"synthesizing the core stacks failed (exit {child.returncode}):\n{tail}")
    (outdir / FINGERPRINT_FILE).write_text(current)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_mode.synth")
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--config", required=True, help="EnvironmentConfig as JSON")
    parser.add_argument("--endpoint-url", required=True, help="the embedded AWS the local variant talks to")
    args = parser.parse_args(argv)
    config = EnvironmentConfig.model_validate(json.loads(args.config))
    from cdktf_stacks.app import build_core_app  # noqa: PLC0415  (imports jsii: only in this child)
    from modules.shared.embedded import EmbeddedAws  # noqa: PLC0415

    outdir = Path(args.outdir)
    embedded = EmbeddedAws(args.endpoint_url)
    build_core_app(config, outdir=str(outdir), state_directory=state_directory(outdir), embedded=embedded).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
