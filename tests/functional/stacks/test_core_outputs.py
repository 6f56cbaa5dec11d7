"""``cdktf_stacks.outputs``: broker outputs into the portal's Chalice config and the generator's env."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from broker_contract.config import RuntimeConfig
from cdktf_stacks.outputs import OutputsError, chalice_stage_settings, main, stack_outputs

PORTAL_ROLE = "arn:aws:iam::123456789012:role/dev-event-broker-portal"


def runtime_outputs() -> dict[str, str]:
    values = {name: f"value-of-{name}" for name in RuntimeConfig.output_names()}
    values.update(environment="dev", region="eu-west-1", account_id="123456789012")
    return values


def cdktf_outputs_file(tmp_path: Path, **overrides: Any) -> Path:
    outputs: dict[str, Any] = {**runtime_outputs(), "portal_role_arn": PORTAL_ROLE, "kms_key_arn": "arn:aws:kms:k"}
    outputs.update(overrides)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"broker": outputs}))
    return path


def expected_env() -> dict[str, str]:
    return {f"BROKER_{name.upper()}": value for name, value in runtime_outputs().items()}


def test_terraform_output_json_is_flattened() -> None:
    assert stack_outputs({"region": {"value": "eu-west-1", "type": "string", "sensitive": False}}) == {
        "region": "eu-west-1"
    }


def test_writes_a_minimal_config_when_none_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / ".chalice" / "config.json"
    code = main(
        ["--outputs-file", str(cdktf_outputs_file(tmp_path)), "--stage", "dev", "--chalice-config", str(config)]
    )
    assert code == 0
    assert json.loads(config.read_text()) == {
        "version": "2.0",
        "app_name": "portal",
        "stages": {
            "dev": {"environment_variables": expected_env(), "iam_role_arn": PORTAL_ROLE, "manage_iam_role": False}
        },
    }
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{name}={value}" for name, value in expected_env().items()]


def test_merges_into_an_existing_config_without_dropping_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "version": "2.0",
                "app_name": "event-broker-portal",
                "automatic_layer": True,
                "stages": {
                    "dev": {"api_gateway_stage": "api", "environment_variables": {"LOG_LEVEL": "DEBUG"}},
                    "prod": {"api_gateway_stage": "api"},
                },
            }
        )
    )
    assert (
        main(["--outputs-file", str(cdktf_outputs_file(tmp_path)), "--stage", "dev", "--chalice-config", str(config)])
        == 0
    )
    merged = json.loads(config.read_text())
    assert merged["app_name"] == "event-broker-portal"
    assert merged["automatic_layer"] is True
    assert merged["stages"]["prod"] == {"api_gateway_stage": "api"}
    assert merged["stages"]["dev"] == {
        "api_gateway_stage": "api",
        "environment_variables": {"LOG_LEVEL": "DEBUG", **expected_env()},
        "iam_role_arn": PORTAL_ROLE,
        "manage_iam_role": False,
    }


def test_missing_output_is_named_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = json.loads(cdktf_outputs_file(tmp_path).read_text())
    del outputs["broker"]["generator_queue_url"]
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    config = tmp_path / "config.json"
    code = main(["--outputs-file", str(tmp_path / "outputs.json"), "--chalice-config", str(config)])
    assert code == 2
    assert (
        capsys.readouterr().err == "cannot configure the portal: broker outputs lack or mistype: generator_queue_url\n"
    )
    assert not config.exists()


def test_portal_role_must_be_an_arn() -> None:
    with pytest.raises(OutputsError, match="'portal_role_arn' must be the portal role's ARN, got None"):
        chalice_stage_settings(runtime_outputs())


def test_the_broker_user_pool_becomes_the_portal_authorizer(tmp_path: Path) -> None:
    pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
    outputs: dict[str, Any] = {**runtime_outputs(), "portal_role_arn": PORTAL_ROLE, "portal_user_pool_arn": pool}
    variables = chalice_stage_settings(outputs)["environment_variables"]
    assert (variables["BROKER_PORTAL_AUTH"], variables["BROKER_PORTAL_USER_POOL_ARN"]) == ("cognito", pool)
