"""The cdktf app of the core: the bootstrap stack and the broker stack of one environment."""

from __future__ import annotations

from pathlib import Path

from cdktf import App

from broker_contract.config import EnvironmentConfig
from cdktf_stacks.bootstrap import BootstrapConfig, BootstrapStack
from cdktf_stacks.broker import BrokerConfig, BrokerStack
from modules.shared.embedded import EmbeddedAws

BOOTSTRAP_STACK = "bootstrap"
BROKER_STACK = "broker"


def build_core_app(
    config: EnvironmentConfig,
    outdir: str = "cdktf.out",
    state_directory: Path | None = None,
    embedded: EmbeddedAws | None = None,
) -> App:
    """An App holding both core stacks of ``config``'s environment; call ``synth()`` to write them.

    The stacks land in ``<outdir>/stacks/bootstrap/cdk.tf.json`` and ``<outdir>/stacks/broker/cdk.tf.json``
    (with ``<outdir>/manifest.json``, which the cdktf CLI reads). The bootstrap stack keeps its local
    state in ``state_directory`` (default: the current directory). ``embedded`` gives the local variant.
    """
    app = App(outdir=outdir)
    bootstrap = BootstrapConfig(environment=config, state_directory=state_directory or Path.cwd(), embedded=embedded)
    BootstrapStack(app, BOOTSTRAP_STACK, bootstrap)
    BrokerStack(app, BROKER_STACK, BrokerConfig(environment=config, embedded=embedded))
    return app
