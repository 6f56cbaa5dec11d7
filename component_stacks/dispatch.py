"""The generator's entry into the component stacks: a deployment file to its producer or consumer stack and hooks.

``build_component_stack`` is a pure function of the deployment file and the run-time configuration:
the same inputs give the same stack, for ``deploy`` (terraform apply) and ``destroy`` (terraform
destroy) alike. ``component_hooks`` tells the generator, without any AWS call, the steps that cannot
live in the stack (``component_stacks.hooks.ComponentHooks``).
"""

from __future__ import annotations

from cdktf import App, TerraformStack

from broker_contract.arns import delivery_problems
from broker_contract.config import RuntimeConfig
from broker_contract.models import AnyDeployment, ConsumerDeployment, ProducerDeployment
from component_stacks.base import StackOptions, broker_names
from component_stacks.consumer import ConsumerStack, ConsumerStackConfig, consumer_hooks
from component_stacks.hooks import ComponentHooks
from component_stacks.producer import ProducerStack, ProducerStackConfig, producer_hooks


class UndeliverableSubscription(ValueError):
    """The subscription's target is one the broker's rule can never deliver to; ``problems`` say why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def consumer_problems(deployment: ConsumerDeployment, runtime: RuntimeConfig) -> list[str]:
    """Why EventBridge could not deliver this subscription from the broker's bus; empty when it can."""
    return delivery_problems(deployment, runtime.region)


def build_component_stack(
    app: App,
    deployment: AnyDeployment,
    runtime: RuntimeConfig,
    options: StackOptions | None = None,
) -> TerraformStack:
    """The producer or consumer stack of ``deployment``, added to ``app``; ``terraform destroy`` uses the same.

    Raises ``UndeliverableSubscription`` (a ``ValueError``), before adding anything to ``app``, for a
    consumer whose target EventBridge cannot reach (``consumer_problems``). ``options`` default: AWS itself.
    """
    options = options or StackOptions()
    if isinstance(deployment, ProducerDeployment):
        names = broker_names(runtime).producer(deployment.event.event_type, deployment.event.version)
        return ProducerStack(app, names.stack, ProducerStackConfig(deployment, runtime, options))
    problems = consumer_problems(deployment, runtime)
    if problems:
        raise UndeliverableSubscription(problems)
    consumer_names = broker_names(runtime).consumer(deployment.subscription_id)
    return ConsumerStack(app, consumer_names.stack, ConsumerStackConfig(deployment, runtime, options))


def component_hooks(deployment: AnyDeployment, runtime: RuntimeConfig) -> ComponentHooks:
    """What the generator does around the stack of ``deployment`` (pure: no AWS call)."""
    if isinstance(deployment, ProducerDeployment):
        return producer_hooks(deployment, runtime)
    return consumer_hooks(deployment, runtime)
