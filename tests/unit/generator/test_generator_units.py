"""Pure pieces of the generator: notifications, validation messages, secret mapping."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broker_contract.examples import examples
from broker_contract.models import ApiKeyAuth, BasicAuth, OAuthClientCredentials
from generator.aws_actions import SecretFormatError, connection_auth_parameters
from generator.handler import FileNotification, MalformedMessage, handle_batch, notifications
from generator.plan import InvalidDeploymentFile, parse_deployment_file
from generator.service import Outcome, ProcessResult, outputs_as_strings
from generator.settings import placeholder_runtime, runtime_or_placeholder

REPO = Path(__file__).resolve().parents[3]
SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:hook-AbCdEf"


def test_s3_notification_keys_are_url_decoded() -> None:
    body = json.dumps(
        {
            "Records": [
                {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Fc.json"}}},
                {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "gone"}}},
            ]
        }
    )
    assert notifications(body) == [FileNotification("b", "a b/c.json")]


def test_eventbridge_object_created_and_s3_test_event() -> None:
    body = json.dumps({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}})
    assert notifications(body) == [FileNotification("b", "k")]
    assert notifications(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("nope", "body is not JSON"),
        ("[1]", "body is not a JSON object"),
        ('{"hello": 1}', "not an S3 notification"),
        ('{"Records": [{"s3": {}}]}', "S3 record without bucket or key"),
    ],
)
def test_malformed_messages(body: str, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        notifications(body)


@dataclass
class ScriptedService:
    """Answers ``process`` from a table; raises for keys it does not know."""

    answers: dict[str, ProcessResult]
    seen: list[str]

    def process(self, bucket: str, key: str, deadline: float | None = None) -> ProcessResult:
        self.seen.append(key)
        return self.answers[key]


def test_batch_reports_only_retryable_records_and_survives_crashes() -> None:
    service = ScriptedService(
        {"ok": ProcessResult(Outcome.DONE), "bad": ProcessResult(Outcome.REJECTED), "tf": ProcessResult(Outcome.RETRY)},
        [],
    )

    def record(message_id: str, *keys: str) -> dict[str, str]:
        items = [{"s3": {"bucket": {"name": "b"}, "object": {"key": key}}} for key in keys]
        return {"messageId": message_id, "body": json.dumps({"Records": items})}

    event = {
        "Records": [
            record("1", "ok"),
            record("2", "bad"),
            record("3", "ok", "tf"),
            record("4", "crash"),  # KeyError inside process: logged, retried
            {"messageId": "5", "body": "not json"},  # dropped, never retried
        ]
    }
    response = handle_batch(service, event)  # type: ignore[arg-type]

    assert response == {"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "4"}]}
    assert service.seen == ["ok", "bad", "ok", "tf", "crash"]


def test_invalid_file_reasons_name_the_field_and_keep_the_id() -> None:
    raw = json.loads(examples()["producer-sqs"].model_dump_json())
    raw["event"]["version"] = 0
    raw["surprise"] = True

    with pytest.raises(InvalidDeploymentFile) as caught:
        parse_deployment_file(json.dumps(raw).encode())

    assert caught.value.deployment_id == "dep-0000000000000002"
    assert caught.value.reason == (
        "invalid deployment file: event.version: Input should be greater than or equal to 1; "
        "surprise: Extra inputs are not permitted"
    )


@pytest.mark.parametrize(
    ("body", "reason", "deployment_id"),
    [
        (b"{", "not a JSON document", None),
        (
            b'{"kind": "robot", "deployment_id": "dep-00000000000000ff"}',
            "invalid deployment file: ",
            "dep-00000000000000ff",
        ),
        (b'{"kind": "consumer", "deployment_id": "../etc"}', "invalid deployment file: deployment_id: String", None),
    ],
)
def test_unreadable_files(body: bytes, reason: str, deployment_id: str | None) -> None:
    with pytest.raises(InvalidDeploymentFile) as caught:
        parse_deployment_file(body)
    assert caught.value.reason.startswith(reason)
    assert caught.value.deployment_id == deployment_id


def test_parse_returns_the_right_kind() -> None:
    for example in examples().values():
        assert parse_deployment_file(example.model_dump_json().encode()) == example


def test_outputs_are_strings() -> None:
    assert outputs_as_strings({"a": "x", "b": 2, "c": {"z": 1, "y": [True]}}) == {
        "a": "x",
        "b": "2",
        "c": '{"y":[true],"z":1}',
    }


def test_api_key_secret_plain_or_json() -> None:
    auth = ApiKeyAuth(secret_arn=SECRET, header_name="x-hook-key")
    expected = ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-hook-key", "ApiKeyValue": "k3y"}})
    assert connection_auth_parameters(auth, "k3y") == expected
    assert connection_auth_parameters(auth, '{"api_key": "k3y"}') == expected


def test_basic_and_oauth_secrets() -> None:
    assert connection_auth_parameters(BasicAuth(secret_arn=SECRET), '{"username": "u", "password": "p"}') == (
        "BASIC",
        {"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    oauth = OAuthClientCredentials(secret_arn=SECRET, token_url="https://id.example.com/token", scopes=["a", "b"])
    kind, parameters = connection_auth_parameters(oauth, '{"client_id": "c", "client_secret": "s"}')
    assert kind == "OAUTH_CLIENT_CREDENTIALS"
    assert parameters == {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "c", "ClientSecret": "s"},
            "AuthorizationEndpoint": "https://id.example.com/token",
            "HttpMethod": "POST",
            "OAuthHttpParameters": {
                "BodyParameters": [
                    {"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False},
                    {"Key": "scope", "Value": "a b", "IsValueSecret": False},
                ]
            },
        }
    }


@pytest.mark.parametrize(
    ("auth", "secret", "reason"),
    [
        (BasicAuth(secret_arn=SECRET), "plain", "must hold a JSON object"),
        (BasicAuth(secret_arn=SECRET), '{"username": "u"}', "no string field 'password'"),
        (ApiKeyAuth(secret_arn=SECRET), "", "is empty"),
    ],
)
def test_bad_secrets_are_explained(auth: Any, secret: str, reason: str) -> None:
    with pytest.raises(SecretFormatError, match=re.escape(reason)):
        connection_auth_parameters(auth, secret)


def test_placeholder_runtime_uses_the_environment_names() -> None:
    runtime = placeholder_runtime("dev", environ={})
    assert runtime.state_bucket_name == "dev-eb-tfstate-123456789012-eu-west-1"
    assert runtime.producer_api_id == "placeholder-api-id"
    complete = runtime.to_env()
    assert runtime_or_placeholder("dev", complete) == (runtime, True)
    assert runtime_or_placeholder("dev", {}) == (runtime, False)


def test_handler_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, generator.handler; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'cdktf', 'jsii', 'constructs'}))"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
