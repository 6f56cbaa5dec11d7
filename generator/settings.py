"""Run-time configuration of the generator: from ``BROKER_*`` variables, or placeholders for offline synthesis."""

from __future__ import annotations

import os
from collections.abc import Mapping

from broker_contract.config import ENDPOINT_URL_VARIABLE, ENV_PREFIX, EnvironmentConfig, RuntimeConfig

__all__ = [
    "ENDPOINT_URL_VARIABLE",  # the contract's: shared with the portal
    "TERRAFORM_TIMEOUT_VARIABLE",
    "WORK_ROOT_VARIABLE",
    "placeholder_runtime",
    "runtime_or_placeholder",
]
#: variables of the generator itself (not outputs of the broker stack)
WORK_ROOT_VARIABLE = f"{ENV_PREFIX}GENERATOR_WORK_ROOT"
TERRAFORM_TIMEOUT_VARIABLE = f"{ENV_PREFIX}TERRAFORM_TIMEOUT_SECONDS"


def placeholder_runtime(environment: str = "dev", environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """A configuration derived from ``config/<environment>.json`` names, with placeholder ids.

    Resource names are the real ones; what only exists after the broker stack is deployed (API id,
    its root resource, the queue URL) is a placeholder, so the result is fit for reading, not applying.
    """
    return RuntimeConfig.derived(EnvironmentConfig.load(environment, environ=environ).names)


def runtime_or_placeholder(environment: str, environ: Mapping[str, str] | None = None) -> tuple[RuntimeConfig, bool]:
    """``(config, from_env)``: the ``BROKER_*`` configuration when complete, else :func:`placeholder_runtime`."""
    env = os.environ if environ is None else environ
    try:
        return RuntimeConfig.from_env(env), True
    except RuntimeError:
        return placeholder_runtime(environment, env), False
