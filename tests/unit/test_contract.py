"""The shared contract: exported schemas and examples, validation messages, envelope and draft-04 rules."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from broker_contract.__main__ import exported_files
from broker_contract.examples import ORDER_CREATED_DATA, examples
from broker_contract.models import ConsumerDeployment, Deployment, DeploymentStatus, ProducerDeployment
from broker_contract.records import DeploymentRecord
from broker_contract.schemas import data_field_paths, draft04_problems, envelope_schema

PACKAGE = Path(__file__).resolve().parents[2] / "broker_contract"
DEPLOYMENT = TypeAdapter(Deployment)


def _example_json(name: str) -> dict[str, Any]:
    return json.loads((PACKAGE / "examples" / f"{name}.json").read_text())


def _errors(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        DEPLOYMENT.validate_python(raw)
    return [(".".join(str(part) for part in error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_exported_files_are_current() -> None:
    stale = [path.name for path, content in exported_files().items() if path.read_text() != content]
    assert stale == []


@pytest.mark.parametrize("name", sorted(examples()))
def test_each_exported_example_validates_and_round_trips(name: str) -> None:
    parsed = DEPLOYMENT.validate_python(_example_json(name))
    assert parsed == examples()[name]


@pytest.mark.parametrize("name", sorted(examples()))
def test_exported_json_schema_accepts_each_example(name: str) -> None:
    kind = "producer" if name.startswith("producer") else "consumer"
    schema = json.loads((PACKAGE / "schemas" / f"{kind}-deployment.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(_example_json(name))) == []


def test_exported_json_schema_rejects_unknown_field() -> None:
    schema = json.loads((PACKAGE / "schemas" / "consumer-deployment.schema.json").read_text())
    document = _example_json("consumer-sqs") | {"surprise": 1}
    messages = [error.message for error in Draft202012Validator(schema).iter_errors(document)]
    assert any("surprise" in message for message in messages)


def test_every_kind_of_example_is_exported() -> None:
    assert sorted(examples()) == [
        "consumer-https",
        "consumer-lambda",
        "consumer-sqs",
        "producer-https",
        "producer-sqs",
    ]
    assert {type(example) for example in examples().values()} == {ProducerDeployment, ConsumerDeployment}


def test_missing_event_type_names_the_field() -> None:
    raw = _example_json("producer-https")
    del raw["event"]["event_type"]
    assert ("producer.event.event_type", "Field required") in _errors(raw)


def test_malformed_lambda_arn_names_the_field_and_pattern() -> None:
    raw = _example_json("consumer-lambda")
    raw["consumer"]["connection_string"] = "arn:aws:lambda:eu-west-1:42:function:x"
    (location, message), *_ = _errors(raw)
    assert location == "consumer.consumer.LAMBDA.connection_string"
    assert "should match pattern" in message


def test_plain_http_consumer_url_is_refused() -> None:
    raw = _example_json("consumer-https")
    raw["consumer"]["connection_string"] = "http://crm.example.com/hook"
    assert ("consumer.consumer.HTTPS.connection_string", "Value error, connection_string must be an https URL") in (
        _errors(raw)
    )


def test_secret_value_in_place_of_reference_is_refused() -> None:
    raw = _example_json("consumer-https")
    raw["consumer"]["auth"] = {
        "type": "API_KEY",
        "secret_arn": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        "value": "s3cr3t",
    }
    locations = [location for location, _ in _errors(raw)]
    assert "consumer.consumer.HTTPS.auth.API_KEY.value" in locations
    assert "consumer.consumer.HTTPS.auth.API_KEY.secret_arn" in locations


def test_unknown_field_and_wrong_format_version_are_refused() -> None:
    raw = _example_json("producer-sqs") | {"schema_version": "2.0", "extra": True}
    errors = dict(_errors(raw))
    assert errors["producer.schema_version"] == "Input should be '1.0'"
    assert errors["producer.extra"] == "Extra inputs are not permitted"


def test_unknown_kind_is_refused() -> None:
    raw = _example_json("producer-sqs") | {"kind": "pipeline"}
    ((_, message),) = _errors(raw)
    assert message == (
        "Input tag 'pipeline' found using 'kind' does not match any of the expected tags: 'producer', 'consumer'"
    )


def test_sequence_must_be_positive() -> None:
    raw = _example_json("consumer-sqs") | {"sequence": 0}
    assert ("consumer.sequence", "Input should be greater than or equal to 1") in _errors(raw)


def test_envelope_schema_of_a_later_draft_is_refused_in_a_producer_file() -> None:
    raw = _example_json("producer-https")
    raw["envelope_schema"]["properties"]["data"]["properties"]["currency"] = {"const": "EUR"}
    (location, message), *_ = _errors(raw)
    assert location == "producer.envelope_schema"
    assert "/properties/data/properties/currency/const: keyword 'const' is JSON Schema draft-06" in message


def test_content_filter_leaves_must_be_lists() -> None:
    raw = _example_json("consumer-lambda") | {"content_filter": {"currency": "EUR"}}
    (location, message), *_ = _errors(raw)
    assert location == "consumer"
    assert "content_filter.currency must be a non-empty list" in message


def test_envelope_wraps_data_under_metadata_attributes() -> None:
    schema = envelope_schema({"$schema": "http://json-schema.org/draft-04/schema#", **ORDER_CREATED_DATA}, "o", 3)
    assert schema["required"] == ["metadata", "data"]
    assert schema["properties"]["metadata"]["properties"]["event_attributes"]["required"] == ["source", "target"]
    assert schema["properties"]["data"] == ORDER_CREATED_DATA
    assert schema["title"] == "o v3"
    assert draft04_problems(schema) == []


@pytest.mark.parametrize(
    ("schema", "pointer", "fragment"),
    [
        ({"type": "object", "properties": {"a": {"const": 1}}}, "/properties/a/const", "draft-06"),
        ({"type": "object", "if": {}, "then": {}}, "/if", "draft-07"),
        ({"type": "object", "$defs": {}}, "/$defs", "2019-09"),
        (
            {"type": "object", "properties": {"n": {"type": "number", "exclusiveMinimum": 0}}},
            "/properties/n/exclusiveMinimum",
            "boolean in draft-04",
        ),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, "/$schema", "draft-04"),
        ({"type": "array"}, "/type", "JSON object"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "/properties/a/type", "not valid draft-04"),
        ([], "", "must be a JSON object"),
    ],
)
def test_draft04_problems_name_pointer_and_rule(schema: Any, pointer: str, fragment: str) -> None:
    problems = draft04_problems(schema)
    assert len(problems) >= 1
    assert problems[0].pointer == pointer
    assert fragment in problems[0].message


def test_property_names_that_look_like_keywords_are_not_refused() -> None:
    schema = {"type": "object", "properties": {"const": {"type": "string"}, "if": {"type": "number"}}}
    assert draft04_problems(schema) == []


def test_data_field_paths_include_nested_properties() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}}}}
    assert data_field_paths(schema) == {("a",), ("a", "b")}


def test_deployment_record_round_trips_through_a_dynamodb_item() -> None:
    record = DeploymentRecord(
        deployment_id="dep-00000000000000ff",
        kind="consumer",
        component_id="consumer-sub-0000000000000001",
        action="deploy",
        sequence=3,
        requested_by="billing",
        requested_at="2026-11-25T09:00:00Z",
        updated_at="2026-11-25T09:00:00Z",
        file_bucket="b",
        file_key="k",
        event_type="order-created",
        version=1,
        subscription_id="sub-0000000000000001",
    )
    item = record.to_item()
    assert item["pk"] == "DEPLOYMENT#dep-00000000000000ff"
    assert item["gsi1pk"] == "COMPONENT#consumer-sub-0000000000000001"
    assert item["gsi1sk"] == "0000000003"
    stored = {key: Decimal(value) if isinstance(value, int) else value for key, value in item.items()}
    assert DeploymentRecord.from_item(stored) == record
    assert DeploymentRecord.from_item(stored).status is DeploymentStatus.PENDING
