"""The portal's settings shape: variable names defined once, a stage's environment built and read back."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from chalicelib.settings import (
    AuthMode,
    PortalSettings,
    PortalStage,
    PortalVariable,
    RegistryMode,
    StageError,
    environment_problems,
    vendored_copy_problem,
)

from broker_contract.config import RuntimeConfig
from broker_contract.names import BrokerNames

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = ROOT / "portal_chalice" / "chalicelib" / "settings.py"
ROLE = "arn:aws:iam::123456789012:role/dev-event-broker-portal"
POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
#: generated or third-party trees, and the tests themselves (which pin names from the outside)
SKIPPED = {".venv", ".git", "tests", "cdktf.out", "build", ".local", "node_modules", ".mypy_cache", ".ruff_cache"}


def runtime() -> RuntimeConfig:
    return RuntimeConfig.derived(BrokerNames("dev", "eu-west-1", "123456789012"), "api0000001", "root000001")


def core_outputs(**extra: str) -> dict[str, str]:
    """What ``cdktf deploy broker --outputs-file`` records (as ``{name: value}``), other outputs included."""
    return {**runtime().model_dump(), "portal_role_arn": ROLE, "kms_key_arn": "arn:aws:kms:k", **extra}


def test_core_outputs_round_trip_through_the_stage_environment_into_the_portal_settings() -> None:
    stage = PortalStage.from_outputs(core_outputs(portal_user_pool_arn=POOL))
    env = stage.to_env()
    assert RuntimeConfig.from_env(env) == runtime()
    settings = PortalSettings.from_env(env)
    assert (settings.auth_mode, settings.user_pool_arns, settings.registry_mode) == (
        AuthMode.COGNITO,
        (POOL,),
        RegistryMode.AWS,
    )
    # dev's teams and quotas come from config/dev.json, selected by the stage's environment name
    assert "shop-team" in settings.teams.teams
    assert stage.chalice_stage() == {"environment_variables": env, "iam_role_arn": ROLE, "manage_iam_role": False}
    assert environment_problems(env) == []


def test_a_local_stage_round_trips_its_files_registry_and_endpoint(tmp_path: Path) -> None:
    tokens, teams = tmp_path / "tokens.json", tmp_path / "teams.json"
    tokens.write_text(json.dumps({"tok-shop": "shop-team"}))
    teams.write_text(json.dumps({"shop-team": {"applications": ["shop"]}}))
    stage = PortalStage(
        runtime=runtime(),
        tokens_file=tokens,
        teams_file=teams,
        registry_mode=RegistryMode.LOCAL,
        aws_endpoint_url="http://127.0.0.1:4566",
    )
    settings = PortalSettings.from_env(stage.to_env())
    assert settings.auth_mode is AuthMode.TOKEN
    assert settings.tokens == {"tok-shop": "shop-team"}
    assert settings.registry_mode is RegistryMode.LOCAL
    assert settings.aws_endpoint_url == "http://127.0.0.1:4566"
    assert settings.teams.teams["shop-team"].applications == ("shop",)
    assert "iam_role_arn" not in stage.chalice_stage()


def test_an_iam_stage_round_trips_its_team_mapping() -> None:
    stage = PortalStage(runtime=runtime(), auth_mode=AuthMode.IAM, iam_teams={"ShopDeployer": "shop-team"})
    settings = PortalSettings.from_env(stage.to_env())
    assert (settings.auth_mode, settings.iam_teams) == (AuthMode.IAM, {"ShopDeployer": "shop-team"})


def test_outputs_without_the_portal_role_or_a_runtime_name_are_refused() -> None:
    with pytest.raises(StageError, match="'portal_role_arn' must be the portal role's ARN, got None"):
        PortalStage.from_outputs(runtime().model_dump())
    outputs = core_outputs()
    del outputs["catalog_table_name"]
    with pytest.raises(StageError, match="broker outputs lack or mistype: catalog_table_name"):
        PortalStage.from_outputs(outputs)


def test_environment_problems_name_placeholders_missing_names_and_auth_needs() -> None:
    env = {**runtime().to_env(), "BROKER_REGION": "${BROKER_REGION}", PortalVariable.AUTH: "cognito"}
    del env["BROKER_GENERATOR_QUEUE_URL"]
    assert environment_problems(env) == [
        "BROKER_REGION='${BROKER_REGION}' is an unresolved placeholder",
        "missing the broker's resource names (broker stack outputs): BROKER_GENERATOR_QUEUE_URL",
        "BROKER_PORTAL_AUTH=cognito needs BROKER_PORTAL_USER_POOL_ARN",
    ]
    token_mode = environment_problems(runtime().to_env())
    assert len(token_mode) == 1
    assert token_mode[0].startswith("BROKER_PORTAL_AUTH=token (the default) needs BROKER_PORTAL_TOKENS_FILE")
    assert environment_problems({**runtime().to_env(), PortalVariable.AUTH: "ldap"}) == [
        "BROKER_PORTAL_AUTH must be one of token, cognito, iam; got 'ldap'"
    ]


def _names_used_as_values(path: Path) -> set[str]:
    """String constants that are exactly an environment variable name (docstrings and messages only mention one)."""
    if path.suffix == ".json":
        found: set[str] = set()

        def walk(value: object) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    found.add(key)
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str):
                found.add(value)

        walk(json.loads(path.read_text()))
        return found
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_portal_variable_is_spelled_in_the_settings_module_only() -> None:
    names = {variable.value for variable in PortalVariable} | set(RuntimeConfig.variables().values())
    spelled: dict[str, list[str]] = {name: [] for name in names}
    sources = [
        path
        for pattern in ("*.py", "*.json")
        for path in ROOT.rglob(pattern)
        if not SKIPPED & set(path.relative_to(ROOT).parts) and "vendor" not in path.relative_to(ROOT).parts
    ]
    assert SETTINGS in sources
    for path in sources:
        for name in _names_used_as_values(path) & names:
            spelled[name].append(str(path.relative_to(ROOT)))
    # the portal's own names once, in its settings module; the broker's names nowhere (derived from the fields)
    assert {name: where for name, where in spelled.items() if where} == {
        variable.value: ["portal_chalice/chalicelib/settings.py"]
        for variable in PortalVariable
        if variable is not PortalVariable.AWS_ENDPOINT_URL  # the contract's, shared with the generator
    }


def test_a_vendored_copy_beside_the_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broker_contract").mkdir()
    (tmp_path / "broker_contract" / "__init__.py").write_text("")
    stale = tmp_path / "portal_chalice" / "vendor" / "broker_contract" / "__init__.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("")
    problem = vendored_copy_problem(str(stale))
    assert problem is not None
    assert f"Delete {tmp_path / 'portal_chalice' / 'vendor'}" in problem
    # the build project's copy has no source beside it, and the imported package is the source itself
    built = tmp_path / "build" / "portal-dev.project" / "vendor" / "broker_contract" / "__init__.py"
    built.parent.mkdir(parents=True)
    built.write_text("")
    assert vendored_copy_problem(str(built)) is None
    assert vendored_copy_problem() is None


def test_local_mode_hands_chalice_local_a_complete_environment(tmp_path: Path) -> None:
    from local_mode.broker import LocalBroker  # noqa: PLC0415 - local mode's imports are heavier than the portal's
    from local_mode.settings import LocalSettings  # noqa: PLC0415
    from local_mode.terraform import TerraformDecision  # noqa: PLC0415

    decision = TerraformDecision(usable=False, reason="not needed here")
    broker = LocalBroker(LocalSettings(workdir=tmp_path, terraform=decision))
    local = RuntimeConfig.derived(BrokerNames("local", "eu-west-1", "123456789012"), "api0000001", "root000001")
    path = broker.write_portal_env_file(local)
    # what `set -a; . .local/portal.env; set +a` exports (values are shell-quoted; these need no quoting)
    env = dict(line.split("=", 1) for line in path.read_text().splitlines())
    # the same BROKER_* environment the portal gets when local mode starts it
    assert {name: value for name, value in broker.portal_env(local).items() if name.startswith("BROKER_")} == {
        name: value for name, value in env.items() if name.startswith("BROKER_")
    }
    assert environment_problems(env) == []
    settings = PortalSettings.from_env(env)
    assert settings.tokens["demo-shop-token"] == "shop-team"
    assert (settings.registry_mode, settings.aws_endpoint_url) == (RegistryMode.LOCAL, broker.moto_url)
    assert env["AWS_ENDPOINT_URL"] == broker.moto_url  # every SDK call of chalice local goes to moto, never AWS
