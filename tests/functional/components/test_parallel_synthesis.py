"""The local worker synthesizes from several threads: one jsii kernel, so every call to it must be serialized."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from broker_contract.examples import examples
from generator.settings import placeholder_runtime
from generator.synth import CdktfSynthesizer

pytestmark = pytest.mark.xdist_group("components")


def test_stacks_synthesized_from_parallel_workers_equal_those_made_one_at_a_time(tmp_path: Path) -> None:
    runtime = placeholder_runtime("dev")
    synthesizer = CdktfSynthesizer()
    deployments = list(examples().items()) * 3

    def one(index: int) -> tuple[str, str]:
        name, deployment = deployments[index]
        synthesizer.hooks(deployment, runtime)
        stack = synthesizer.synthesize(deployment, runtime, tmp_path / f"parallel-{index}")
        return name, stack.file.read_text()

    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(one, range(len(deployments))))

    for name, text in parallel:
        serial = synthesizer.synthesize(examples()[name], runtime, tmp_path / f"serial-{name}").file.read_text()
        assert json.loads(text) == json.loads(serial), name
