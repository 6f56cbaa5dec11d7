"""Shared by the local-mode tests: the core stacks, synthesized once per session (a child process, ~5 s)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from local_mode.settings import LocalSettings
from local_mode.synth import synthesize


@pytest.fixture(scope="session")
def core_stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real bootstrap and broker stacks of the local environment, with local mode's reuse fingerprint."""
    outdir = tmp_path_factory.mktemp("core") / "cdktf.out"
    synthesize(LocalSettings().environment_config(), outdir, dict(os.environ))
    return outdir


def seed_workdir(core_stacks: Path, workdir: Path) -> None:
    """Give a local-mode working directory the session's core stacks, so it reuses them instead of synthesizing."""
    shutil.copytree(core_stacks, workdir / "cdktf.out")
