"""``/catalog`` (public page files, no data) and ``GET /graph`` through the Chalice test client over moto."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from tests.functional.portal.conftest import BILLING, OTHER, SHOP, SQS_ARN, create_event, subscribe

pytestmark = pytest.mark.usefixtures("no_unhandled")


def test_the_page_shell_and_its_files_are_public_and_carry_no_data(client: Client) -> None:
    create_event(client)
    shell = client.http.get("/catalog")
    assert shell.status_code == 200
    assert shell.headers["Content-Type"].startswith("text/html")
    html = shell.body.decode()
    assert '<script type="module" src="catalog/static/catalog.js">' in html
    assert "order-created" not in html
    policy = shell.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy

    script = client.http.get("/catalog/static/catalog.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "sessionStorage" in script.body.decode()
    style = client.http.get("/catalog/static/catalog.css")
    assert style.headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("name", ["index.html", "secret.py", "..%2Froutes%2Fcatalog.py", "catalog.JS"])
def test_only_the_two_page_files_are_served(client: Client, name: str) -> None:
    response = client.http.get(f"/catalog/static/{name}")
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"


def test_the_graph_links_producers_events_and_consumers_without_arns(client: Client) -> None:
    create_event(client)
    create_event(client, "stock-changed", application="warehouse", connection_type="SQS")
    subscribe(client)
    subscribe(client, connection_type="SQS", connection_string=SQS_ARN)
    subscribe(client, headers=OTHER, target_unit="crm")
    subscribe(client, event_type="stock-changed", connection_type="SQS", connection_string=SQS_ARN)

    response = client.http.get("/graph", headers=OTHER)
    assert response.status_code == 200, response.json_body
    graph = response.json_body
    assert graph["nodes"] == [
        {"id": "application:shop", "kind": "application", "label": "shop"},
        {"id": "application:warehouse", "kind": "application", "label": "warehouse"},
        {"id": "event:order-created", "kind": "event", "label": "order-created"},
        {"id": "event:stock-changed", "kind": "event", "label": "stock-changed"},
        {"id": "consumer:billing-team/billing/LAMBDA", "kind": "consumer", "label": "billing-team/billing (LAMBDA)"},
        {"id": "consumer:billing-team/billing/SQS", "kind": "consumer", "label": "billing-team/billing (SQS)"},
        {"id": "consumer:other-team/crm/LAMBDA", "kind": "consumer", "label": "other-team/crm (LAMBDA)"},
    ]
    assert graph["edges"] == [
        {"from": "application:shop", "to": "event:order-created"},
        {"from": "application:warehouse", "to": "event:stock-changed"},
        {"from": "event:order-created", "to": "consumer:billing-team/billing/LAMBDA"},
        {"from": "event:order-created", "to": "consumer:billing-team/billing/SQS"},
        {"from": "event:order-created", "to": "consumer:other-team/crm/LAMBDA"},
        {"from": "event:stock-changed", "to": "consumer:billing-team/billing/SQS"},
    ]
    assert "arn:" not in json.dumps(graph)

    one = client.http.get("/graph?event_type=stock-changed", headers=SHOP).json_body
    assert [node["id"] for node in one["nodes"]] == [
        "application:warehouse",
        "event:stock-changed",
        "consumer:billing-team/billing/SQS",
    ]
    assert len(one["edges"]) == 2


def test_graph_refusals_name_the_problem(client: Client) -> None:
    assert client.http.get("/graph").status_code == 401
    missing = client.http.get("/graph?event_type=nope", headers=BILLING)
    assert missing.status_code == 404
    assert "nope" in missing.json_body["error"]["message"]
    bad = client.http.get("/graph?event_type=Not%20An%20Id", headers=BILLING)
    assert bad.status_code == 400
    assert bad.json_body["error"]["details"][0]["field"] == "event_type"
    unknown = client.http.get("/graph?owner=x", headers=BILLING)
    assert unknown.status_code == 400
    assert unknown.json_body["error"]["details"][0]["field"] == "owner"


def test_an_empty_catalog_has_an_empty_graph(client: Client) -> None:
    assert client.http.get("/graph", headers=SHOP).json_body == {"nodes": [], "edges": []}
