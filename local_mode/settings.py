"""Where local mode listens and what it runs, from flags and ``BROKER_LOCAL_*`` environment variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broker_contract.config import EnvironmentConfig, RuntimeConfig
from local_mode.terraform import TerraformDecision

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MOTO_PORT = 4566
DEFAULT_PORTAL_PORT = 8000
DEFAULT_GATEWAY_PORT = 8001
MOTO_PORT_VARIABLE = "BROKER_LOCAL_MOTO_PORT"
PORTAL_PORT_VARIABLE = "BROKER_LOCAL_PORTAL_PORT"
GATEWAY_PORT_VARIABLE = "BROKER_LOCAL_GATEWAY_PORT"
WORKDIR_VARIABLE = "BROKER_LOCAL_WORKDIR"
#: the demo environment: its own names (``local-...``), in the dev region, in moto's default account
LOCAL_ENVIRONMENT = "local"
LOCAL_REGION = "eu-west-1"
LOCAL_ACCOUNT_ID = "123456789012"


class SettingsError(ValueError):
    """A flag or environment variable has a value local mode cannot use."""


def _port(value: str | int, variable: str) -> int:
    try:
        port = int(value)
    except ValueError as error:
        raise SettingsError(f"{variable} must be a port number, got {value!r}") from error
    if not 1 <= port <= 65535:
        raise SettingsError(f"{variable} must be between 1 and 65535, got {port}")
    return port


@dataclass(frozen=True)
class LocalSettings:
    """Everything the launcher needs; ``from_environment`` fills it from flags and variables."""

    moto_port: int = DEFAULT_MOTO_PORT
    portal_port: int = DEFAULT_PORTAL_PORT
    #: the producers' API as local mode executes it (moto does not run API Gateway integrations)
    gateway_port: int = DEFAULT_GATEWAY_PORT
    host: str = "127.0.0.1"
    workdir: Path = PACKAGE_DIR.parent / ".local"
    teams_file: Path = PACKAGE_DIR / "demo_teams.json"
    #: what each demo team may target and which applications it owns (``BROKER_PORTAL_TEAMS_FILE``)
    team_targets_file: Path = PACKAGE_DIR / "demo_team_targets.json"
    python: str = sys.executable
    environment: str = LOCAL_ENVIRONMENT
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    startup_timeout: float = 60.0
    #: apply the core stacks with Terraform even when a snapshot of their last apply matches (``--fresh``)
    fresh_core: bool = False
    #: None: decide from this machine (see ``local_mode.terraform``)
    terraform: TerraformDecision | None = None

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        moto_port: int | None = None,
        portal_port: int | None = None,
    ) -> LocalSettings:
        """Flags win over ``BROKER_LOCAL_MOTO_PORT`` / ``BROKER_LOCAL_PORTAL_PORT``, which win over defaults.

        ``BROKER_LOCAL_WORKDIR`` moves the working directory (logs, synthesized stacks) from ``.local``.
        """
        env = os.environ if environ is None else environ
        moto = moto_port if moto_port is not None else env.get(MOTO_PORT_VARIABLE, DEFAULT_MOTO_PORT)
        portal = portal_port if portal_port is not None else env.get(PORTAL_PORT_VARIABLE, DEFAULT_PORTAL_PORT)
        settings = cls(
            moto_port=_port(moto, "--moto-port" if moto_port is not None else MOTO_PORT_VARIABLE),
            portal_port=_port(portal, "--portal-port" if portal_port is not None else PORTAL_PORT_VARIABLE),
            gateway_port=_port(env.get(GATEWAY_PORT_VARIABLE, DEFAULT_GATEWAY_PORT), GATEWAY_PORT_VARIABLE),
            region=env.get(RuntimeConfig.variables()["region"]) or LOCAL_REGION,
            workdir=Path(env[WORKDIR_VARIABLE]).resolve() if env.get(WORKDIR_VARIABLE) else cls.workdir,
        )
        ports = [settings.moto_port, settings.portal_port, settings.gateway_port]
        if len(set(ports)) != len(ports):
            raise SettingsError(f"moto, the portal and the producers' gateway need three different ports, got {ports}")
        return settings

    def environment_config(self) -> EnvironmentConfig:
        return EnvironmentConfig(
            environment=self.environment,
            region=self.region,
            account_id=self.account_id,
            tags={"project": "event-broker", "environment": self.environment},
        )

    def bin(self, script: str) -> str:
        """A console script installed next to this Python (``moto_server``, ``chalice``)."""
        return str(Path(self.python).with_name(script))
