"""Builds the services once per process from the environment (boto3 clients created lazily).

Tests call ``install(services)`` with services over moto or fakes; ``reset()`` forgets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker_contract.config import RuntimeConfig
from chalicelib.aws.catalog import CatalogRepository
from chalicelib.aws.dead_letters import DeadLetterQueues
from chalicelib.aws.gateway import ApiKeys
from chalicelib.aws.guards import CatalogGuards
from chalicelib.aws.registry import EventBridgeSchemaRegistry, LocalSchemaRegistry, SchemaRegistry
from chalicelib.aws.replays import EventReplays
from chalicelib.aws.storage import ObjectStorage
from chalicelib.services.applications import ApplicationOwnership
from chalicelib.services.backend import Backend
from chalicelib.services.consumers import ConsumerService
from chalicelib.services.deployments import DeploymentService
from chalicelib.services.events import EventService
from chalicelib.services.maintenance import Maintenance
from chalicelib.services.producers import ProducerAccess
from chalicelib.services.quotas import QuotaGuard
from chalicelib.services.recovery import RecoveryService
from chalicelib.services.subscriptions import SubscriptionService
from chalicelib.services.targets import TargetPolicy
from chalicelib.services.trial import TrialService
from chalicelib.services.workflows import Workflows
from chalicelib.settings import PortalSettings, RegistryMode


@dataclass
class Services:
    """The portal's services over one backend."""

    backend: Backend
    settings: PortalSettings
    events: EventService
    subscriptions: SubscriptionService
    deployments: DeploymentService
    maintenance: Maintenance
    producers: ProducerAccess
    consumers: ConsumerService
    trial: TrialService
    recovery: RecoveryService

    @classmethod
    def over(cls, backend: Backend, settings: PortalSettings, api_keys: ApiKeys | None = None) -> Services:
        """The services over ``backend``; ``api_keys`` (API Gateway) defaults to a client built on first use."""
        workflows = Workflows(backend)
        environment = backend.config.environment
        guards = CatalogGuards.over(backend.catalog)
        quotas = QuotaGuard(guards, settings.quotas, environment)
        subscriptions = SubscriptionService(
            backend, workflows, targets=TargetPolicy(settings.teams, environment), quotas=quotas
        )
        applications = ApplicationOwnership(backend.catalog, guards, settings.teams, environment)
        return cls(
            backend=backend,
            settings=settings,
            events=EventService(backend, workflows, subscriptions, applications=applications, quotas=quotas),
            subscriptions=subscriptions,
            deployments=DeploymentService(backend),
            maintenance=Maintenance(backend, workflows),
            producers=ProducerAccess(
                backend, api_keys or ApiKeys(_client_factory("apigateway", backend.config, settings))
            ),
            consumers=ConsumerService(backend, workflows),
            trial=TrialService(backend),
            recovery=RecoveryService(backend),
        )


def _client_factory(service: str, config: RuntimeConfig, settings: PortalSettings) -> Any:
    def build() -> Any:
        import boto3  # noqa: PLC0415 - imported on first use only (cold start)

        kwargs: dict[str, Any] = {"region_name": config.region}
        if settings.aws_endpoint_url:
            kwargs["endpoint_url"] = settings.aws_endpoint_url
        return boto3.client(service, **kwargs)

    return build


def from_environment() -> Services:
    """Services over the real AWS clients named by ``BROKER_*`` variables."""
    config = RuntimeConfig.from_env()
    settings = PortalSettings.from_env()
    registry: SchemaRegistry
    if settings.registry_mode is RegistryMode.AWS:
        registry = EventBridgeSchemaRegistry(config.schema_registry_name, _client_factory("schemas", config, settings))
    else:
        registry = LocalSchemaRegistry()
    backend = Backend(
        config=config,
        catalog=CatalogRepository(config.catalog_table_name, _client_factory("dynamodb", config, settings)),
        storage=ObjectStorage(_client_factory("s3", config, settings)),
        registry=registry,
        replays=EventReplays(_client_factory("events", config, settings)),
        dead_letters=DeadLetterQueues(_client_factory("sqs", config, settings)),
    )
    return Services.over(backend, settings)


_services: Services | None = None
_settings: PortalSettings | None = None


def settings() -> PortalSettings:
    """The portal settings (those of the installed services when tests installed some)."""
    global _settings  # noqa: PLW0603 - read once per process
    if _services is not None:
        return _services.settings
    if _settings is None:
        _settings = PortalSettings.from_env()
    return _settings


def services() -> Services:
    """The process's services, built on first use."""
    global _services  # noqa: PLW0603 - one lazily built container per Lambda process
    if _services is None:
        _services = from_environment()
    return _services


def install(value: Services) -> None:
    global _services  # noqa: PLW0603
    _services = value


def reset() -> None:
    global _services, _settings  # noqa: PLW0603
    _services = None
    _settings = None
