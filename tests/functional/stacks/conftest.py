"""Synthesize the core app once per session: both stacks as ``Testing.synth`` JSON, and a full synth on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cdktf import TerraformStack, Testing

import cdktf_stacks  # noqa: F401  (lazy provider before any provider submodule)
from broker_contract.config import EnvironmentConfig
from cdktf_stacks.app import BOOTSTRAP_STACK, BROKER_STACK, build_core_app

CONFIG = EnvironmentConfig(
    environment="dev",
    region="eu-west-1",
    account_id="123456789012",
    tags={"project": "event-broker", "environment": "dev"},
    generator_image_tag="1.2.3",
)


@dataclass(frozen=True)
class Core:
    """The synthesized core app."""

    bootstrap: dict[str, Any]
    broker: dict[str, Any]
    outdir: Path
    state_directory: Path


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> Core:
    outdir = tmp_path_factory.mktemp("core-out")
    state_directory = tmp_path_factory.mktemp("core-state")
    app = build_core_app(CONFIG, outdir=str(outdir), state_directory=state_directory)
    stacks = {}
    for name in (BOOTSTRAP_STACK, BROKER_STACK):
        stack = app.node.find_child(name)
        assert isinstance(stack, TerraformStack)
        stacks[name] = json.loads(Testing.synth(stack))
    app.synth()
    return Core(stacks[BOOTSTRAP_STACK], stacks[BROKER_STACK], outdir, state_directory)


def resources(stack: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Every resource of ``resource_type``, by logical id."""
    found: dict[str, dict[str, Any]] = stack["resource"].get(resource_type, {})
    return found


def the(stack: dict[str, Any], resource_type: str, **match: Any) -> tuple[str, dict[str, Any]]:
    """The one resource of ``resource_type`` whose properties equal ``match`` (logical id, body)."""
    hits = [
        (logical_id, body)
        for logical_id, body in resources(stack, resource_type).items()
        if all(body.get(key) == value for key, value in match.items())
    ]
    assert len(hits) == 1, f"expected one {resource_type} matching {match}, found {[hit[0] for hit in hits]}"
    return hits[0]


def ref(resource_type: str, logical_id: str, attribute: str) -> str:
    """The token a synthesized stack uses for ``attribute`` of a resource."""
    return f"${{{resource_type}.{logical_id}.{attribute}}}"
