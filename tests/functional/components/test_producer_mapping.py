"""The HTTPS producer's mapping templates rendered as API Gateway would, by local mode's Velocity renderer.

The request template must turn ANY valid envelope into valid PutEvents JSON whose ``Detail`` is the
body; the response templates must answer the event id, or a clear error with the right status.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from local_mode.vtl import Rendered, escape_javascript, render_document
from modules.producers.https import SERVER_ERROR_TEMPLATE
from tests.functional.components.conftest import Synthesized, one, resources_of

pytestmark = pytest.mark.xdist_group("components")

SERVER_ERROR_PATTERN = r"(40[1-9]|4[1-9]\d|5\d{2})"


def envelope(data: Any, target: str = "billing") -> dict[str, Any]:
    return {"metadata": {"event_attributes": {"source": "shop", "target": target}}, "data": data}


def request_template(synthesized: dict[str, Synthesized], name: str) -> str:
    template: str = one(synthesized[name].json, "aws_api_gateway_integration")["request_templates"]["application/json"]
    return template


def response_template(synthesized: dict[str, Synthesized], selection_pattern: str | None) -> str:
    (body,) = [
        body
        for body in resources_of(synthesized["producer-https"].json, "aws_api_gateway_integration_response")
        if body.get("selection_pattern") == selection_pattern
    ]
    template: str = body["response_templates"]["application/json"]
    return template


def put_events_entry(template: str, body: Any) -> dict[str, Any]:
    """The single PutEvents entry the template sends for ``body``; fails unless the result is valid JSON."""
    rendered = render_document(template, body)
    assert rendered.overrides == {}
    request = json.loads(rendered.body)
    (entry,) = request["Entries"]
    assert isinstance(entry, dict)
    return entry


# -- the renderer itself --------------------------------------------------------------------------------


def test_escape_javascript_is_commons_lang() -> None:
    # the example of StringEscapeUtils.escapeJavaScript's documentation
    assert escape_javascript('He didn\'t say, "Stop!"') == 'He didn\\\'t say, \\"Stop!\\"'
    assert escape_javascript("a/b\\c\n\t\x01\x7f") == "a\\/b\\\\c\\n\\t\\u0001\x7f"
    # UTF-16 code units, upper-case hex: an emoji is a surrogate pair
    assert escape_javascript("é€😀") == "\\u00E9\\u20AC\\uD83D\\uDE00"


def test_without_the_replace_all_a_single_quote_breaks_the_json() -> None:
    """Why the template needs ``.replaceAll``: proves the renderer would catch its absence."""
    naive = '{"Detail": "$util.escapeJavaScript($input.json(\'$\'))"}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(render_document(naive, envelope({"note": "it's"})).body)


def test_the_renderer_is_a_whole_velocity_engine_with_api_gateway_variables() -> None:
    template = (
        "#foreach($item in $input.path('$.items'))$item.name#if($foreach.hasNext),#end#end"
        " $util.base64Encode($input.path('$.items[1].name')) $context.requestId"
    )
    rendered = render_document(template, {"items": [{"name": "a"}, {"name": "b"}]}, context={"requestId": "r-1"})
    assert rendered == Rendered("a,b Yg== r-1", {})


# -- request template ----------------------------------------------------------------------------------

TRICKY_TEXTS = [
    "plain",
    "",
    "it's",
    'say "hi"',
    "back\\slash",
    "\\'",  # a backslash right before a quote: the replaceAll must not eat the wrong backslash
    "\\\\'",
    "\\\"'",
    "'''",
    "</script>",
    "line\nbreak\ttab\rreturn\b\f",
    "\x00\x01\x1f\x7f",
    "é ß ü ñ ø",
    "日本語のテキスト",
    "emoji 😀 🇪🇺 👩‍👩‍👧",
    "\u2028\u2029",
    "$input.body #set($x = 1) ${x}",
    "{\"json\": 'inside'}",
]


@pytest.mark.parametrize("name", ["producer-https", "producer-https-iam"])
def test_the_entry_goes_to_the_bus_with_the_version_detail_type_and_application_source(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    body = envelope({"order_id": "o-1", "amount": 12.5, "currency": "EUR"})
    entry = put_events_entry(request_template(synthesized, name), body)
    version = synthesized[name].deployment.event.version
    assert entry == {
        "EventBusName": "dev.custom.events.bus",
        "Source": "shop",
        "DetailType": f"order-created.{version}",
        "Detail": entry["Detail"],
    }
    assert isinstance(entry["Detail"], str)
    assert json.loads(entry["Detail"]) == body


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_detail_round_trips_any_string(synthesized: dict[str, Synthesized], text: str) -> None:
    body = envelope({"note": text, text or "empty": [text, {"nested": text}]})
    entry = put_events_entry(request_template(synthesized, "producer-https"), body)
    assert json.loads(entry["Detail"]) == body


ALPHABET = "aZ09 '\"\\/\n\t\x00\x1f\x7fé€日😀\u2028{}[]:,$#!."


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, nested up to 4 levels, with strings drawn from the characters that need escaping."""
    choice = rng.randrange(8 if depth < 4 else 5)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.randint(-(10**12), 10**12)
    if choice == 2:
        return rng.choice([0.5, -1.25, 1e-7, 3.0e20])
    if choice in (3, 4):
        return random_text(rng)
    if choice in (5, 6):
        return {random_text(rng): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_detail_round_trips_random_nested_documents(synthesized: dict[str, Synthesized]) -> None:
    template = request_template(synthesized, "producer-https")
    rng = random.Random(20261125)
    for _ in range(300):
        body = envelope({"payload": random_json(rng), "list": [random_json(rng) for _ in range(3)]})
        assert json.loads(put_events_entry(template, body)["Detail"]) == body


# -- response templates --------------------------------------------------------------------------------


def respond(synthesized: dict[str, Synthesized], selection_pattern: str | None, reply: dict[str, Any]) -> Rendered:
    return render_document(response_template(synthesized, selection_pattern), reply)


def test_an_accepted_event_answers_its_event_id(synthesized: dict[str, Synthesized]) -> None:
    reply = {"FailedEntryCount": 0, "Entries": [{"EventId": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"}]}
    result = respond(synthesized, None, reply)
    assert result.overrides == {}  # the integration response's own 200
    assert json.loads(result.body) == {"event_id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"}


@pytest.mark.parametrize(
    ("code", "status"),
    [("InternalFailure", 500), ("ThrottlingException", 429), ("NotAuthorizedForSourceException", 500)],
)
def test_a_rejected_entry_answers_an_error_with_the_bus_reason(
    synthesized: dict[str, Synthesized], code: str, status: int
) -> None:
    message = 'the bus said "no" and didn\'t say why \\ é'
    reply = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": code, "ErrorMessage": message}]}
    result = respond(synthesized, None, reply)
    assert result.overrides == {"status": status}
    assert json.loads(result.body) == {
        "error": "the event bus did not accept the event",
        "code": code,
        "message": message,
    }


def test_a_rejected_entry_without_reason_still_answers_valid_json(synthesized: dict[str, Synthesized]) -> None:
    result = respond(synthesized, None, {"FailedEntryCount": 1, "Entries": [{}]})
    assert result.overrides == {"status": 500}
    assert json.loads(result.body) == {"error": "the event bus did not accept the event", "code": "", "message": ""}


@pytest.mark.parametrize(
    ("reply", "status", "answer"),
    [
        (
            {"__type": "ValidationException", "message": "Total size of the entries in the request is over the limit"},
            None,
            {
                "error": "the event bus refused the event",
                "message": "Total size of the entries in the request is over the limit",
            },
        ),
        (
            {"__type": "com.amazon.coral.validate#ValidationException", "message": 'it\'s "wrong"'},
            None,
            {"error": "the event bus refused the event", "message": 'it\'s "wrong"'},
        ),
        (
            {"__type": "ThrottlingException", "message": "Rate exceeded"},
            429,
            {"error": "too many events for the event bus, retry later"},
        ),
        (
            {"__type": "AccessDeniedException", "message": "not authorized to perform events:PutEvents"},
            500,
            {"error": "the event bus is not available, retry later"},
        ),
        ({}, 500, {"error": "the event bus is not available, retry later"}),
    ],
)
def test_a_400_from_the_bus_blames_the_producer_only_for_an_invalid_event(
    synthesized: dict[str, Synthesized], reply: dict[str, Any], status: int | None, answer: dict[str, Any]
) -> None:
    result = respond(synthesized, "400", reply)
    assert result.overrides == ({} if status is None else {"status": status})
    assert json.loads(result.body) == answer


def test_any_other_bus_error_is_the_broker_s(synthesized: dict[str, Synthesized]) -> None:
    result = respond(synthesized, SERVER_ERROR_PATTERN, {"message": "Service Unavailable"})
    assert result == Rendered(SERVER_ERROR_TEMPLATE, {})
    assert json.loads(result.body) == {"error": "the event bus is not available, retry later"}
