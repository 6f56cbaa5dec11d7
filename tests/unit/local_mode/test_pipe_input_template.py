"""EventBridge Pipes input transformation as local mode's pump applies it (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_mode.pipes import Pipe, transform
from modules.producers.sqs import PIPE_INPUT_TEMPLATE

RECORD: dict[str, Any] = {
    "messageId": "m-1",
    "body": json.dumps({"key": 'say "hi"', "n": 3, "list": [1, {"a": None}], "nested": {"x": "é"}}),
    "attributes": {"SenderId": "AIDA123"},
    "eventSource": "aws:sqs",
}
RESERVED = {"aws.pipes.pipe-name": "my-pipe", "aws.pipes.event.ingestion-time": "2026-11-29T09:00:00.000Z"}


def test_the_producer_template_makes_the_json_body_the_detail() -> None:
    assert json.loads(transform(PIPE_INPUT_TEMPLATE, RECORD)) == json.loads(RECORD["body"])


def test_without_a_template_the_record_itself_is_sent() -> None:
    assert json.loads(transform(None, RECORD)) == RECORD


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello, sender", "Hello, sender"),
        ("<$.attributes.SenderId>", "AIDA123"),
        ("Hello, <$.attributes.SenderId>", "Hello, AIDA123"),
        ("<$.body.key>", 'say "hi"'),
        ("<aws.pipes.pipe-name> at <aws.pipes.event.ingestion-time>", "my-pipe at 2026-11-29T09:00:00.000Z"),
    ],
)
def test_text_templates(template: str, expected: str) -> None:
    assert transform(template, RECORD, RESERVED) == expected


def test_json_templates_quote_strings_and_embed_objects() -> None:
    template = (
        '{"key": "<$.body.key>", "n": <$.body.n>, "list": <$.body.list>, "nested": <$.body.nested>,'
        ' "in_text": "n is <$.body.n>, nested is <$.body.nested>", "missing": <$.body.nope>,'
        ' "name": "<aws.pipes.pipe-name>", "literal": "a \\"<quoted>\\" text"}'
    )
    assert json.loads(transform(template, RECORD, RESERVED)) == {
        "key": 'say "hi"',
        "n": 3,
        "list": [1, {"a": None}],
        "nested": {"x": "é"},
        "in_text": 'n is 3, nested is {"x": "é"}',
        "missing": None,
        "name": "my-pipe",
        "literal": 'a "<quoted>" text',
    }


def test_a_body_that_is_not_json_is_addressed_as_text() -> None:
    assert transform("<$.body>", {**RECORD, "body": "plain text"}) == "plain text"
    assert transform('{"b": "<$.body>"}', {**RECORD, "body": 'a "b"'}) == '{"b": "a \\"b\\""}'


def test_only_sqs_to_event_bus_pipes_are_supported() -> None:
    description = {
        "Name": "p",
        "Arn": "arn:aws:pipes:eu-west-1:123456789012:pipe/p",
        "Source": "arn:aws:sqs:eu-west-1:123456789012:q",
        "Target": "arn:aws:events:eu-west-1:123456789012:event-bus/b",
        "SourceParameters": {"SqsQueueParameters": {"BatchSize": 50}},
    }
    pipe = Pipe.from_description(description)
    assert (pipe.supported, pipe.batch_size) == (True, 10)  # PutEvents takes 10 entries
    assert (
        Pipe.from_description({**description, "Target": "arn:aws:lambda:eu-west-1:123456789012:function:f"}).supported
        is False
    )
