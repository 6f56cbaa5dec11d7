"""The OpenAPI 3 document, generated from the pydantic request and response models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from broker_contract.records import DeploymentRecord
from chalicelib.auth import MODE
from chalicelib.models import (
    ErrorBody,
    EventChange,
    EventCreateRequest,
    EventDetail,
    EventList,
    EventUpdateRequest,
    Removal,
    Subscription,
    SubscriptionCreateRequest,
    SubscriptionDetail,
    SubscriptionList,
    VersionDetail,
)
from chalicelib.settings import AuthMode

_MODELS: list[type[BaseModel]] = [
    EventCreateRequest,
    EventUpdateRequest,
    SubscriptionCreateRequest,
    EventChange,
    EventDetail,
    EventList,
    VersionDetail,
    Removal,
    Subscription,
    SubscriptionDetail,
    SubscriptionList,
    DeploymentRecord,
    ErrorBody,
]

_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(model)}}}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_ERRORS = {
    str(status): {"description": text, **_json(ErrorBody)}
    for status, text in (
        (400, "invalid input (field and rule in details)"),
        (401, "not authenticated"),
        (403, "not allowed for this team"),
        (404, "not found"),
        (409, "conflict"),
        (503, "stored, a later step failed; completed by reconcile"),
    )
}


def _operation(summary: str, ok: int, response: type[BaseModel], **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {str(ok): {"description": "success", **_json(response)}, **_ERRORS},
        **extra,
    }


_EVENT = _param("event_type", "path", "event type")
_VERSION = _param("version", "path", "version number", {"type": "integer", "minimum": 1})
_FORCE = _param("force", "query", "also remove subscriptions", {"type": "boolean"})
_PAGE = [
    _param("limit", "query", "page size (1..100, default 20)", {"type": "integer", "minimum": 1, "maximum": 100}),
    _param("cursor", "query", "next_cursor of the previous page"),
]


def _security() -> dict[str, Any]:
    if MODE is AuthMode.TOKEN:
        return {"portal": {"type": "http", "scheme": "bearer"}}
    if MODE is AuthMode.COGNITO:
        return {"portal": {"type": "apiKey", "in": "header", "name": "Authorization"}}
    return {
        "portal": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for every endpoint; component schemas come from the pydantic models."""
    _, definitions = models_json_schema([(model, "validation") for model in _MODELS], ref_template=_REF)
    schemas = definitions.get("$defs", {})
    paths: dict[str, Any] = {
        "/events": {
            "post": _operation(
                "Register an event type (version 1)",
                201,
                EventChange,
                requestBody={"required": True, **_json(EventCreateRequest)},
            ),
            "get": _operation(
                "List event types",
                200,
                EventList,
                parameters=[
                    _param("application", "query", "only this producing application"),
                    _param("owner", "query", "only this owning team"),
                    *_PAGE,
                ],
            ),
        },
        "/events/{event_type}": {
            "get": _operation("An event type with all versions", 200, EventDetail, parameters=[_EVENT]),
            "put": _operation(
                "Change the description, or the schema (next version)",
                200,
                EventChange,
                parameters=[_EVENT, _param("If-Match", "header", "expected revision")],
                requestBody={"required": True, **_json(EventUpdateRequest)},
            ),
            "delete": _operation("Delete an event type", 200, Removal, parameters=[_EVENT, _FORCE]),
        },
        "/events/{event_type}/versions/{version}": {
            "get": _operation("One version's schema", 200, VersionDetail, parameters=[_EVENT, _VERSION]),
            "delete": _operation("Delete one version", 200, Removal, parameters=[_EVENT, _VERSION, _FORCE]),
        },
        "/subscriptions": {
            "post": _operation(
                "Subscribe to an event version",
                201,
                Subscription,
                requestBody={"required": True, **_json(SubscriptionCreateRequest)},
            ),
            "get": _operation("The caller's subscriptions", 200, SubscriptionList, parameters=_PAGE),
        },
        "/subscriptions/{subscription_id}": {
            "get": _operation(
                "A subscription and its deployment status",
                200,
                SubscriptionDetail,
                parameters=[_param("subscription_id", "path", "sub-<16 hex>")],
            ),
            "delete": {
                "summary": "Delete a subscription (its team only)",
                "parameters": [_param("subscription_id", "path", "sub-<16 hex>")],
                "responses": {"200": {"description": "teardown requested"}, **_ERRORS},
            },
        },
        "/deployments/{deployment_id}": {
            "get": _operation(
                "A deployment's status",
                200,
                DeploymentRecord,
                parameters=[_param("deployment_id", "path", "dep-<16 hex>")],
            ),
        },
        "/deployments/{deployment_id}/terraform": {
            "get": {
                "summary": "The synthesized Terraform JSON (404 until synthesized)",
                "parameters": [_param("deployment_id", "path", "dep-<16 hex>")],
                "responses": {"200": {"description": "Terraform JSON"}, **_ERRORS},
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Event broker portal", "version": "1.0.0"},
        "security": [{"portal": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _security()},
    }
