"""The portal under Chalice's local gateway (``chalice local``, ``chalice.test.Client``) and the Chalice CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chalice.test import Client

ROOT = Path(__file__).resolve().parents[3]
POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Ab"
MALFORMED = ["Bearer abc", "abc", "Bearer a.b", "a.%%%.c", "a.bm90IGpzb24.c", "a.MQ.c", "Bearer"]

_COGNITO_LOCAL = textwrap.dedent(
    """
    import json, sys
    from chalice.test import Client
    from app import app

    answers = []
    with Client(app) as client:
        for token in json.loads(sys.argv[1]):
            response = client.http.get("/events", headers={"authorization": token})
            answers.append([response.status_code, response.body.decode()])
    print(json.dumps(answers))
    """
)


def _portal(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, *args],
        cwd=ROOT / "portal_chalice",
        env={**env, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "portal_chalice")])},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_malformed_cognito_token_gets_401_from_the_local_gateway() -> None:
    # Chalice's local gateway decodes the token itself: before the fix, an IndexError dropped the connection
    env = {**os.environ, "BROKER_PORTAL_AUTH": "cognito", "BROKER_PORTAL_USER_POOL_ARN": POOL}
    env.pop("AWS_CHALICE_CLI_MODE", None)
    result = _portal(_COGNITO_LOCAL, env, json.dumps(MALFORMED))
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers == [[401, '{"message":"Unauthorized"}']] * len(MALFORMED)


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer \u00e9t\u00e9", "x" * 5000])
def test_a_malformed_bearer_token_gets_401_with_the_portal_error_in_token_mode(client: Client, header: str) -> None:
    response = client.http.get("/events", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer <token>" in response.json_body["error"]["message"]


def test_the_chalice_cli_refuses_an_incomplete_stage_listing_what_is_missing() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    env["AWS_CHALICE_CLI_MODE"] = "true"  # what `chalice local`, `chalice package` and `chalice deploy` set
    env["BROKER_REGION"] = "${BROKER_REGION}"
    result = _portal("import app", env)
    assert result.returncode == 1
    assert "the portal cannot run with this stage's environment:" in result.stderr
    assert "BROKER_REGION='${BROKER_REGION}' is an unresolved placeholder" in result.stderr
    assert "BROKER_CATALOG_TABLE_NAME" in result.stderr
    assert "BROKER_PORTAL_AUTH=token (the default) needs BROKER_PORTAL_TOKENS_FILE" in result.stderr
    # the test client and Lambda do not set the CLI's variable: the same environment imports (and fails later)
    env.pop("AWS_CHALICE_CLI_MODE")
    assert _portal("import app", env).returncode == 0
