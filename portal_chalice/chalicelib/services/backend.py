"""Everything a service needs from the outside world, injected once (tests pass fakes or moto clients)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from datetime import datetime

from broker_contract.config import RuntimeConfig
from broker_contract.deployment_store import DeploymentStore
from broker_contract.dynamodb_store import DynamoDBDeploymentStore
from broker_contract.names import BrokerNames
from broker_contract.records import utc_now
from chalicelib.aws.catalog import CatalogRepository
from chalicelib.aws.dead_letters import DeadLetterQueues
from chalicelib.aws.registry import SchemaRegistry
from chalicelib.aws.replays import EventReplays
from chalicelib.aws.storage import ObjectStorage


def random_hex() -> str:
    return secrets.token_hex(8)


def _unconfigured(service: str) -> Callable[[], object]:
    def fail() -> object:
        raise RuntimeError(f"no {service} client was given to this backend")

    return fail


@dataclass
class Backend:
    """Configuration, adapters, clock and id source shared by the services."""

    config: RuntimeConfig
    catalog: CatalogRepository
    storage: ObjectStorage
    registry: SchemaRegistry
    replays: EventReplays = field(default_factory=lambda: EventReplays(_unconfigured("events")))
    dead_letters: DeadLetterQueues = field(default_factory=lambda: DeadLetterQueues(_unconfigured("sqs")))
    clock: Callable[[], datetime] = utc_now
    new_hex: Callable[[], str] = field(default=random_hex)
    #: the deployment records (default: the store on the catalog's table and DynamoDB client)
    deployment_store: InitVar[DeploymentStore | None] = None
    deployments: DeploymentStore = field(init=False)

    def __post_init__(self, deployment_store: DeploymentStore | None) -> None:
        catalog = self.catalog
        self.deployments = deployment_store or DynamoDBDeploymentStore(
            # through the attribute, so a clock replaced later (tests) is the store's too
            catalog.table_name,
            lambda: catalog.client,
            clock=lambda: self.clock(),  # noqa: PLW0108
        )

    @property
    def names(self) -> BrokerNames:
        return BrokerNames(self.config.environment, self.config.region, self.config.account_id)

    def deployment_id(self) -> str:
        return f"dep-{self.new_hex()}"

    def subscription_id(self) -> str:
        return f"sub-{self.new_hex()}"

    def intent_id(self) -> str:
        return f"int-{self.new_hex()}"
