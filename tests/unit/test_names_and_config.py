"""Resource names stay unique and within AWS limits; environments come from configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from broker_contract import names
from broker_contract.config import EnvironmentConfig, RuntimeConfig
from broker_contract.names import BrokerNames, fit, is_identifier

LONGEST = "a" * names.IDENTIFIER_MAX_LENGTH
BROKER = BrokerNames("prod", "ap-southeast-2", "123456789012")


def _all_names(broker: BrokerNames, event_type: str, subscription_id: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for owner in (broker, broker.producer(event_type, names.MAX_VERSION), broker.consumer(subscription_id)):
        for attribute in dir(type(owner)):
            if isinstance(getattr(type(owner), attribute), property):
                found[f"{type(owner).__name__}.{attribute}"] = str(getattr(owner, attribute))
    return found


def test_names_within_limits_for_the_longest_identifiers() -> None:
    broker = BrokerNames("staging123", "ap-southeast-2", "123456789012")
    every = _all_names(broker, LONGEST, "sub-0123456789abcdef")
    assert len(every) > 40
    # every property ran its AWS rule check; the limits that bite first:
    assert len(BROKER.producer(LONGEST, names.MAX_VERSION).queue) <= 80
    assert len(BROKER.producer(LONGEST, names.MAX_VERSION).pipe) <= 64
    assert len(BROKER.consumer("sub-0123456789abcdef").rule) <= 64
    for bucket in (BROKER.schema_bucket, BROKER.state_bucket, BROKER.artifact_bucket, BROKER.access_log_bucket):
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket), bucket


def test_shortened_names_stay_unique() -> None:
    broker = BrokerNames("staging123", "eu-west-1", "123456789012")
    first = broker.producer(LONGEST[:-1] + "b", names.MAX_VERSION)
    second = broker.producer(LONGEST[:-1] + "c", names.MAX_VERSION)
    assert len(first.pipe) == 64
    assert first.pipe != second.pipe
    assert first.pipe_role != second.pipe_role


def test_fit_leaves_short_names_alone_and_hashes_long_ones() -> None:
    assert fit("short-name", names.EVENT_RULE) == "short-name"
    long = fit("x" * 100, names.EVENT_RULE)
    assert len(long) == 64
    assert re.fullmatch(r"x{55}-[0-9a-f]{8}", long)


def test_names_are_prefixed_with_the_environment() -> None:
    assert BROKER.event_bus == "prod.custom.events.bus"
    assert BROKER.catalog_table == "prod-event-broker-catalog"
    assert BROKER.schema_bucket == "prod-eb-schemas-123456789012-ap-southeast-2"
    assert BROKER.producer("order-created", 2).queue == "prod-producer-order-created-v2"
    assert BROKER.producer("order-created", 2).state_key == "prod/producers/order-created/v2/terraform.tfstate"
    assert BROKER.consumer("sub-0123456789abcdef").state_key == "prod/consumers/sub-0123456789abcdef/terraform.tfstate"
    assert BROKER.producer("order-created", 2).request_model == "OrderCreatedV2Envelope"


@pytest.mark.parametrize(
    ("environment", "region", "account", "message"),
    [
        ("Prod", "eu-west-1", "123456789012", "environment"),
        ("dev", "europe", "123456789012", "region"),
        ("dev", "eu-west-1", "1234", "account_id"),
    ],
)
def test_broker_names_refuse_bad_configuration(environment: str, region: str, account: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BrokerNames(environment, region, account)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("order-created", True),
        ("order_created2", True),
        ("Order", False),
        ("1order", False),
        ("a--b", False),
        ("a" * 49, False),
        ("", False),
    ],
)
def test_identifier_rule(value: str, expected: bool) -> None:
    assert is_identifier(value) is expected


def test_environment_config_reads_file_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "qa.json").write_text(json.dumps({"region": "eu-central-1", "account_id": "111111111111"}))
    loaded = EnvironmentConfig.load("qa", environ={"BROKER_ACCOUNT_ID": "222222222222"}, config_dir=tmp_path)
    assert (loaded.environment, loaded.region, loaded.account_id) == ("qa", "eu-central-1", "222222222222")
    assert loaded.names.event_bus == "qa.custom.events.bus"


def test_shipped_environments_load() -> None:
    assert EnvironmentConfig.load("dev", environ={}).names.environment == "dev"
    assert EnvironmentConfig.load("prod", environ={}).names.environment == "prod"


def test_runtime_config_names_missing_variables() -> None:
    with pytest.raises(RuntimeError, match="BROKER_CATALOG_TABLE_NAME"):
        RuntimeConfig.from_env({"BROKER_ENVIRONMENT": "dev"})


def test_runtime_config_round_trips_through_env_and_outputs() -> None:
    values = {name: f"value-{name}" for name in RuntimeConfig.output_names()}
    config = RuntimeConfig.model_validate(values)
    assert RuntimeConfig.from_env(config.to_env()) == config
    assert RuntimeConfig.from_outputs({key: {"value": value} for key, value in values.items()}) == config
    assert config.to_env()["BROKER_EVENT_BUS_NAME"] == "value-event_bus_name"


def test_generator_image_tag_cannot_be_latest_because_tags_are_immutable(tmp_path: Path) -> None:
    (tmp_path / "qa.json").write_text(
        json.dumps({"region": "eu-west-1", "account_id": "111111111111", "generator_image_tag": "latest"})
    )
    with pytest.raises(ValueError, match="generator_image_tag"):
        EnvironmentConfig.load("qa", environ={}, config_dir=tmp_path)
