"""Input found by probing the API: every one is a 400 naming the field, never a 500; schemas stay valid once wrapped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from chalice.test import Client
from jsonschema import Draft4Validator

from tests.functional.portal.conftest import BILLING, ORDER_DATA, SHOP, body, create_event, subscribe


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.usefixtures("no_unhandled")
@pytest.mark.parametrize(
    ("method", "path", "text"),
    [
        ("post", "/events", nested(1000)),
        ("put", "/events/order-created", '{"data": ' + nested(1000) + "}"),
        ("post", "/subscriptions", '{"event_type": "order-created", "content_filter": ' + nested(1000) + "}"),
        ("post", "/events", nested(150)),
        ("post", "/events/order-created/versions/1/test", '{"data": ' + "[" * 5000 + "]" * 5000 + "}"),
    ],
)
def test_deeply_nested_json_is_a_400(client: Client, method: str, path: str, text: str) -> None:
    create_event(client)
    response = getattr(client.http, method)(path, headers=SHOP, body=text)
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == "body"


@pytest.mark.usefixtures("no_unhandled")
def test_a_content_filter_nested_within_the_limit_is_judged_by_its_fields(client: Client) -> None:
    create_event(client)
    deep: Any = ["x"]
    for _ in range(60):
        deep = {"customer": deep}
    payload = {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "LAMBDA",
        "connection_string": "arn:aws:lambda:eu-west-1:111122223333:function:f",
        "content_filter": deep,
    }
    response = client.http.post("/subscriptions", headers=BILLING, body=body(payload))
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["rule"] == "is not a field of the event's data schema"


@pytest.mark.usefixtures("no_unhandled")
def test_if_match_with_thousands_of_digits_and_unicode_digits_in_limit_are_400(client: Client) -> None:
    create_event(client)
    response = client.http.put(
        "/events/order-created", headers={**SHOP, "If-Match": "9" * 5000}, body=body({"description": "x"})
    )
    assert (response.status_code, response.json_body["error"]["details"][0]["field"]) == (400, "If-Match")
    for raw in ("²", "٣", "1" * 5000):
        response = client.http.get(f"/events?limit={raw}", headers=SHOP)
        assert (response.status_code, response.json_body["error"]["details"][0]["field"]) == (400, "limit")


@pytest.mark.usefixtures("no_unhandled")
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_not_stored_as_null(client: Client, constant: str) -> None:
    text = body({"application": "shop", "event_type": "order-created", "connection_type": "HTTPS", "data": {}})
    text = text.replace('"data": {}', '"data": {"type": "object", "properties": {"a": {"maximum": ' + constant + "}}}")
    response = client.http.post("/events", headers=SHOP, body=text)
    assert (response.status_code, response.json_body["error"]["details"][0]["field"]) == (400, "body")
    assert client.http.get("/events/order-created", headers=SHOP).status_code == 404


@pytest.mark.usefixtures("no_unhandled")
@pytest.mark.parametrize(
    ("ref", "rule"),
    [
        ("#/definitions/missing", "points to nothing"),
        ("http://example.com/schema.json", "is remote"),
        ("file:///etc/passwd", "is remote"),
        ("other.json#/definitions/money", "is remote"),
        ("#/definitions/loop", "loop of references"),
    ],
)
def test_dangling_remote_and_looping_refs_are_400(client: Client, ref: str, rule: str) -> None:
    data = copy.deepcopy(ORDER_DATA)
    data["definitions"] = {"loop": {"$ref": "#/definitions/loop2"}, "loop2": {"$ref": "#/definitions/loop"}}
    data["properties"]["amount"] = {"$ref": ref}
    payload = {"application": "shop", "event_type": "order-created", "connection_type": "HTTPS", "data": data}
    response = client.http.post("/events", headers=SHOP, body=body(payload))
    assert response.status_code == 400
    details = response.json_body["error"]["details"]
    assert any(item["field"] == "data/properties/amount/$ref" and rule in item["rule"] for item in details), details


def test_references_still_point_at_their_definitions_once_wrapped(client: Client) -> None:
    data = copy.deepcopy(ORDER_DATA)
    data["definitions"] = {"money": {"type": "number", "minimum": 0}}
    data["properties"]["amount"] = {"$ref": "#/definitions/money"}
    data["properties"]["refund"] = {"$ref": "#/properties/amount"}
    create_event(client, data=data)
    version = client.http.get("/events/order-created/versions/1", headers=SHOP).json_body
    assert version["data_schema"] == data
    envelope = version["schema"]
    assert envelope["properties"]["data"]["properties"]["amount"] == {"$ref": "#/properties/data/definitions/money"}
    validator = Draft4Validator(envelope)
    sample = {
        "metadata": {"event_attributes": {"source": "shop", "target": "t"}},
        "data": {"order_id": "o", "amount": 5},
    }
    assert validator.is_valid(sample)
    assert not validator.is_valid({**sample, "data": {"order_id": "o", "amount": -5}})
    assert not validator.is_valid({**sample, "data": {"order_id": "o", "amount": 5, "refund": "x"}})
    tried = client.http.post(
        "/events/order-created/versions/1/test",
        headers=SHOP,
        body=body({**sample, "data": {"order_id": "o", "amount": "5"}}),
    ).json_body
    assert [error["field"] for error in tried["errors"]] == ["/data/amount"]


def test_a_subscription_filter_on_a_referenced_field_is_judged_by_the_schema(client: Client) -> None:
    create_event(client)
    assert subscribe(client, content_filter={"currency": ["EUR"]})["content_filter"] == {"currency": ["EUR"]}
