"""The generator's image runs what the code expects: its handler, and the one AWS provider version.

The Python bindings (``cdktf-cdktf-provider-aws``) write the provider version they were generated for into each
stack's ``required_providers``; ``terraform init`` refuses any other. The broker hands Terraform that provider
from an offline mirror (``generator.terraform_setup``) and bakes it into the generator's image (the
Dockerfile's build argument): a bump of one without the others fails ``init`` on the first deployment.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from generator.terraform_setup import AWS_PROVIDER_VERSION
from tests.functional.components.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("components")

DOCKERFILE = Path(__file__).resolve().parents[3] / "generator" / "Dockerfile"


def build_argument(name: str) -> str:
    """The default value the Dockerfile gives build argument ``name``."""
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match is not None, f"the Dockerfile gives {name} no default"
    return match[1]


def test_every_stack_requires_the_provider_terraform_is_given(synthesized: dict[str, Synthesized]) -> None:
    required = {built.json["terraform"]["required_providers"]["aws"]["version"] for built in synthesized.values()}
    assert required == {AWS_PROVIDER_VERSION}


def test_the_generator_image_mirrors_that_provider() -> None:
    assert build_argument("AWS_PROVIDER_VERSION") == AWS_PROVIDER_VERSION


def test_the_image_starts_the_generator_s_handler() -> None:
    (command,) = re.findall(r'^CMD \["([\w.]+)"\]$', DOCKERFILE.read_text(), re.MULTILINE)
    module, _, attribute = command.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))
