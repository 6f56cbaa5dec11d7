"""Shared by the local-mode tests: the core stacks, applied with Terraform once per session, restored by every broker.

Applying the core stacks to the embedded AWS takes minutes (the AWS provider's own waits), so the session does
it once: a first broker starts, Terraform applies bootstrap and broker, local mode keeps its snapshot of the
embedded AWS (``local_mode.snapshot``), and the broker stops. Every broker of the session then starts in a
working directory seeded with those stacks and that snapshot, on the same embedded-AWS port (the snapshot
holds URLs with it), and restores the applied core in a second: one broker at a time, as on a 2-core machine.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from local_mode.broker import LocalBroker
from local_mode.processes import free_port
from local_mode.settings import LocalSettings
from local_mode.terraform import TerraformDecision, decide

SEEDED = ("cdktf.out", "core-snapshot", "terraform")


@dataclass(frozen=True)
class CoreSeed:
    """A working directory holding the applied core (stacks, bootstrap state, snapshot) and its moto port."""

    workdir: Path
    moto_port: int

    def settings(self, workdir: Path, terraform: TerraformDecision | None = None) -> LocalSettings:
        """Settings of a broker that restores this core in ``workdir`` (seeded here), on free portal ports."""
        for name in SEEDED:
            if workdir != self.workdir and (self.workdir / name).exists():
                shutil.copytree(self.workdir / name, workdir / name, symlinks=True, dirs_exist_ok=True)
        settings = LocalSettings(
            moto_port=self.moto_port, portal_port=free_port(), gateway_port=free_port(), workdir=workdir
        )
        return replace(settings, terraform=terraform) if terraform is not None else settings


def terraform_for_tests() -> TerraformDecision:
    decision = decide()
    if decision.binary is None:
        pytest.skip(f"local mode needs terraform: {decision.reason}")
    return decision


@pytest.fixture(scope="session")
def core_seed(tmp_path_factory: pytest.TempPathFactory) -> CoreSeed:
    """The core stacks applied once with Terraform to a first broker's embedded AWS, kept as its snapshot."""
    decision = terraform_for_tests()
    seed = CoreSeed(tmp_path_factory.mktemp("core-seed"), free_port())
    broker = LocalBroker(replace(seed.settings(seed.workdir), terraform=TerraformDecision(False, "seeding only")))
    try:
        broker.start()
    finally:
        broker.stop()
    assert (seed.workdir / "core-snapshot" / "state.pickle").is_file(), "local mode kept no snapshot of the core"
    del decision
    return seed
