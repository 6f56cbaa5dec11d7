"""Teams and quotas reach the portal from config/<env>.json and BROKER_PORTAL_TEAMS_FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalicelib.settings import PortalSettings

from broker_contract.config import EnvironmentConfig, environment_policy
from broker_contract.teams import TeamDirectory


def test_the_environment_file_declares_teams_and_the_teams_file_adds_to_it(tmp_path: Path) -> None:
    teams_file = tmp_path / "teams.json"
    teams_file.write_text(json.dumps({"data-team": {"accounts": ["444455556666"], "sqs_queues": ["data-*"]}}))
    settings = PortalSettings.from_env({"BROKER_ENVIRONMENT": "dev", "BROKER_PORTAL_TEAMS_FILE": str(teams_file)})
    billing = settings.teams.policy("billing-team")
    assert billing is not None and billing.lambda_functions == ("billing-*",)
    data = settings.teams.policy("data-team")
    assert data is not None and data.accounts == ("444455556666",)
    assert settings.teams.application_owner("webshop") == "shop-team"
    assert settings.quotas.rules_per_event_bus == 300


def test_prod_declares_no_team_until_the_operator_does() -> None:
    teams, quotas = environment_policy("prod")
    assert teams.teams == {}
    assert quotas.event_pattern_characters == 2048


def test_quotas_are_read_per_environment(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(
        json.dumps({"region": "eu-west-1", "account_id": "123456789012", "quotas": {"rules_per_event_bus": 2000}})
    )
    assert environment_policy("big", tmp_path)[1].rules_per_event_bus == 2000
    assert EnvironmentConfig.load("big", environ={}, config_dir=tmp_path).quotas.rules_per_event_bus == 2000


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"billing-team": {"accounts": ["123"]}}, "accounts"),
        ({"Billing Team": {}}, "Billing Team"),
        ({"a-team": {"applications": ["shop"]}, "b-team": {"applications": ["shop"]}}, "reserved twice"),
        ({"a-team": {"lambda_functions": ["bad name"]}}, "lambda_functions"),
    ],
)
def test_bad_declarations_stop_the_portal_with_the_reason(tmp_path: Path, declaration: object, message: str) -> None:
    teams_file = tmp_path / "teams.json"
    teams_file.write_text(json.dumps(declaration))
    with pytest.raises(RuntimeError, match=message):
        PortalSettings.from_env({"BROKER_PORTAL_TEAMS_FILE": str(teams_file)})
    with pytest.raises(ValueError, match=message):
        TeamDirectory.load(teams_file)
