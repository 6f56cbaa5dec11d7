"""Turn one validated deployment into a synthesized Terraform directory (``cdk.tf.json``).

The cdktf machinery (jsii kernel, Node.js child process, provider classes) costs seconds to start,
so it is loaded on the first ``synthesize`` call and then reused by every later call in the same
process: a warm Lambda pays it once. Each deployment still gets its own ``App`` and stack, so no
construct of one deployment can leak into the next one.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from broker_contract.config import RuntimeConfig
from broker_contract.models import AnyDeployment
from component_stacks.hooks import ComponentHooks

if TYPE_CHECKING:
    from cdktf import App, TerraformStack

logger = logging.getLogger(__name__)

#: ``build(app, deployment, runtime, endpoint_url) -> stack``: adds one component stack to ``app``
StackBuild = Callable[["App", AnyDeployment, RuntimeConfig, "str | None"], "TerraformStack"]
HooksFor = Callable[[AnyDeployment, RuntimeConfig], ComponentHooks]


@dataclass(frozen=True)
class SynthesizedStack:
    """A synthesized stack: ``directory`` holds ``cdk.tf.json`` and is where Terraform runs."""

    name: str
    directory: Path

    @property
    def file(self) -> Path:
        return self.directory / "cdk.tf.json"


def _component_build() -> StackBuild:
    """The real builder, ``component_stacks.dispatch.build_component_stack``, imported on first use."""
    from component_stacks import base, dispatch  # noqa: PLC0415  (heavy: loads jsii and provider classes)

    def build(app: App, deployment: AnyDeployment, runtime: RuntimeConfig, endpoint_url: str | None) -> TerraformStack:
        return dispatch.build_component_stack(app, deployment, runtime, base.StackOptions(endpoint_url=endpoint_url))

    return build


def _component_hooks(deployment: AnyDeployment, runtime: RuntimeConfig) -> ComponentHooks:
    from component_stacks.dispatch import component_hooks  # noqa: PLC0415  (heavy, like the builder)

    return component_hooks(deployment, runtime)


class CdktfSynthesizer:
    """Synthesizes component stacks with cdktf, loading cdktf lazily and keeping it loaded.

    ``build``/``hooks_for`` default to ``component_stacks.dispatch``; tests inject small fakes.
    ``endpoint_url`` points the AWS provider and the S3 backend at a local endpoint (local mode).
    Thread-safe: the jsii kernel is a single child process, so synthesis is serialized.
    """

    def __init__(
        self,
        build: StackBuild | None = None,
        hooks_for: HooksFor | None = None,
        *,
        endpoint_url: str | None = None,
    ) -> None:
        self._build = build
        self._hooks_for = hooks_for
        self.endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._app_class: type[App] | None = None

    def warm_up(self) -> None:
        """Load cdktf and the component builder now (otherwise done by the first ``synthesize``)."""
        with self._lock:
            self._load()

    def _load(self) -> tuple[type[App], StackBuild]:
        if self._app_class is None or self._build is None:
            started = time.monotonic()
            from generator.jsii_provider import preload_lazy_provider, use_writable_package_cache  # noqa: PLC0415

            if not {"constructs", "cdktf"} & sys.modules.keys():
                # before the jsii kernel starts (loading either package starts it): the kernel cannot use a
                # read-only package cache (Lambda's /opt), and reads its location only when it starts
                use_writable_package_cache()
            # ``modules`` switches the AWS provider to per-resource imports; it must load before any cdktf class
            importlib.import_module("modules")

            preload_lazy_provider()
            from cdktf import App  # noqa: PLC0415

            if self._build is None:
                self._build = _component_build()
            self._app_class = App
            logger.info("cdktf loaded", extra={"seconds": round(time.monotonic() - started, 3)})
        return self._app_class, self._build

    def hooks(self, deployment: AnyDeployment, runtime: RuntimeConfig) -> ComponentHooks:
        """What to do around apply for ``deployment`` (pure, no AWS call).

        Under the synthesis lock: computing the hooks imports the stack modules, which start and call the
        one jsii kernel, and a second thread talking to the kernel at the same time corrupts its replies.
        The first call loads cdktf the way synthesis does (writable package cache, lazy provider), since
        the kernel reads its settings only when it starts.
        """
        with self._lock:
            if self._hooks_for is None:
                self._load()
            return (self._hooks_for or _component_hooks)(deployment, runtime)

    def synthesize(self, deployment: AnyDeployment, runtime: RuntimeConfig, outdir: Path) -> SynthesizedStack:
        """Build the deployment's stack in a fresh ``App`` and write it under ``outdir``."""
        outdir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            app_class, build = self._load()
            # stack traces on every construct cost ~30% of synthesis time and never reach cdk.tf.json
            app = app_class(outdir=str(outdir), stack_traces=False)
            stack = build(app, deployment, runtime, self.endpoint_url)
            app.synth()
            # a jsii call like any other: reading the id outside the lock raced the other workers' calls
            stack_name = stack.node.id
        return _synthesized_stack(outdir, stack_name)


def _synthesized_stack(outdir: Path, stack_name: str) -> SynthesizedStack:
    """Locate the stack's directory through the ``manifest.json`` cdktf writes next to the stacks."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    entry = manifest["stacks"][stack_name]
    return SynthesizedStack(name=stack_name, directory=outdir / entry["workingDirectory"])
