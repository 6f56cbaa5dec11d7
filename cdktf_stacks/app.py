"""The cdktf app of the core: the bootstrap stack and the broker stack of one environment."""

from __future__ import annotations

from cdktf import App

from broker_contract.config import EnvironmentConfig
from cdktf_stacks.bootstrap import BootstrapConfig, BootstrapStack
from cdktf_stacks.broker import BrokerConfig, BrokerStack

BOOTSTRAP_STACK = "bootstrap"
BROKER_STACK = "broker"


def build_core_app(config: EnvironmentConfig, outdir: str = "cdktf.out") -> App:
    """An App holding both core stacks of ``config``'s environment; call ``synth()`` to write them.

    The stacks land in ``<outdir>/stacks/bootstrap/cdk.tf.json`` and ``<outdir>/stacks/broker/cdk.tf.json``.
    """
    app = App(outdir=outdir)
    BootstrapStack(app, BOOTSTRAP_STACK, BootstrapConfig(environment=config))
    BrokerStack(app, BROKER_STACK, BrokerConfig(environment=config))
    return app
