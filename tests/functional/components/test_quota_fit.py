"""Synthesized consumer stacks hold what the portal counts: one rule, one target, the pattern it measured."""

from __future__ import annotations

import pytest

from broker_contract.capacity import TARGETS_PER_SUBSCRIPTION_RULE, subscription_demand
from broker_contract.config import Quotas
from broker_contract.models import ConsumerDeployment
from broker_contract.routing import consumer_event_pattern, event_pattern_json
from tests.functional.components.conftest import Synthesized, resources_of
from tests.functional.components.test_consumer_stacks import CONSUMERS

pytestmark = pytest.mark.xdist_group("components")


@pytest.mark.parametrize("name", CONSUMERS)
def test_consumer_stacks_hold_what_the_portal_counts(synthesized: dict[str, Synthesized], name: str) -> None:
    built = synthesized[name]
    deployment = built.deployment
    assert isinstance(deployment, ConsumerDeployment)
    (rule,) = resources_of(built.json, "aws_cloudwatch_event_rule")
    targets = resources_of(built.json, "aws_cloudwatch_event_target")
    assert len(targets) == TARGETS_PER_SUBSCRIPTION_RULE <= Quotas().targets_per_rule
    destinations = resources_of(built.json, "aws_cloudwatch_event_api_destination")
    connections = resources_of(built.json, "aws_cloudwatch_event_connection")
    held = {"rules": 1, "api_destinations": len(destinations), "connections": len(connections)}
    assert {key: value for key, value in held.items() if value} == subscription_demand(
        deployment.consumer.connection_type.value
    )
    # the text EventBridge receives (Terraform's template escaping undone) is the one the portal measured
    sent = rule["event_pattern"].replace("$${", "${").replace("%%{", "%{")
    assert sent == event_pattern_json(consumer_event_pattern(deployment))
