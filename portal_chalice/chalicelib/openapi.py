"""The OpenAPI 3.1 document, generated from the app's own route table and the pydantic models it uses.

Every route Chalice serves appears, with the method and path template Chalice matches on; what each
operation takes and returns comes from ``OPERATIONS`` (keyed by view function name) and the models
in ``chalicelib.models``. Path and query parameters carry the patterns and bounds the routes enforce
(the same constants: ``IDENTIFIER_PATTERN``, ``SUBSCRIPTION_ID_PATTERN`` ...). A route without an
entry is still listed, with a generic answer, and a test fails until it gets one, so the document
cannot silently drift from the routes.

Media types: the API answers JSON; the catalog pages (``/catalog``, ``/catalog/static/{name}``) are routes
of the same app, public and answering HTML, JavaScript or CSS, so they are described too, with those
media types and without security, rather than kept out of a document that promises every route.

Errors: every operation declares 400, 401, 403, 404, 409 and 415 with the portal's error body; 401
may also come from the gateway itself (missing ``Authorization`` header), whose body is
``{"message": "Unauthorized"}``, so that form is declared too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from broker_contract.models import PATTERN_RULES
from broker_contract.names import (
    DEPLOYMENT_ID_PATTERN,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    SUBSCRIPTION_ID_PATTERN,
)
from broker_contract.records import DeploymentRecord
from chalicelib.auth import MODE
from chalicelib.models import (
    VERSION_SCHEMA,
    DeadLetters,
    ErrorBody,
    EventChange,
    EventCreateRequest,
    EventDetail,
    EventList,
    EventSubscriptionList,
    EventUpdateRequest,
    ProducerInstructions,
    Redrive,
    Removal,
    Replay,
    ReplayRequest,
    SampleEvent,
    SchemaDiff,
    Subscription,
    SubscriptionChangeRequest,
    SubscriptionCreateRequest,
    SubscriptionDetail,
    SubscriptionList,
    TrialResult,
    VersionDetail,
)
from chalicelib.routes.catalog import ASSETS
from chalicelib.services.graph import Graph
from chalicelib.services.pagination import MAX_LIMIT
from chalicelib.settings import AuthMode

_REF = "#/components/schemas/{model}"
JSON = "application/json"
REPLAY_NAME_PATTERN = r"^sub-[0-9a-f]{16}-[0-9a-f]{8}$"


@dataclass(frozen=True)
class Param:
    """A query or header parameter with the schema its parser enforces."""

    name: str
    where: Literal["query", "header"]
    description: str
    schema: Mapping[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers; ``response`` None means a JSON document without a fixed shape."""

    summary: str
    tag: str
    status: int = 200
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    params: tuple[Param, ...] = field(default_factory=tuple)
    writes: bool = False
    response_description: str = "success"
    #: what a success answers in: JSON (``response``), or text files (the catalog pages: a string)
    media_types: tuple[str, ...] = (JSON,)


_IDENTIFIER = {"type": "string", "pattern": IDENTIFIER_PATTERN, "maxLength": IDENTIFIER_MAX_LENGTH}
_PAGE = (
    Param(
        "limit",
        "query",
        f"page size (1..{MAX_LIMIT}, default 20)",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    ),
    Param(
        "cursor",
        "query",
        "next_cursor of the previous page",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,4096}$"},
    ),
)
_FORCE = Param("force", "query", "also remove subscriptions", {"type": "string", "enum": ["true", "false"]})

#: the path parameters of every route template, by name
PATH_PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "event_type": (PATTERN_RULES[IDENTIFIER_PATTERN], _IDENTIFIER),
    "version": ("version number", VERSION_SCHEMA),
    "sub_id": (PATTERN_RULES[SUBSCRIPTION_ID_PATTERN], {"type": "string", "pattern": SUBSCRIPTION_ID_PATTERN}),
    "dep_id": (PATTERN_RULES[DEPLOYMENT_ID_PATTERN], {"type": "string", "pattern": DEPLOYMENT_ID_PATTERN}),
    "replay_name": ("a replay_name returned for this subscription", {"type": "string", "pattern": REPLAY_NAME_PATTERN}),
    "name": ("a file of the catalog pages", {"type": "string", "enum": sorted(ASSETS)}),
}

#: every view function of the app, by name
OPERATIONS: dict[str, Operation] = {
    "create_event": Operation(
        "Register an event type (version 1)", "events", 201, EventChange, EventCreateRequest, writes=True
    ),
    "list_events": Operation(
        "List event types",
        "events",
        response=EventList,
        params=(
            Param("application", "query", "only this producing application", _IDENTIFIER),
            Param("owner", "query", "only this owning team", _IDENTIFIER),
            *_PAGE,
        ),
    ),
    "get_event": Operation("An event type with all versions and their compatibility", "events", response=EventDetail),
    "update_event": Operation(
        "Change the description, the compatibility mode, or the schema (next version; 409 if it breaks the mode)",
        "events",
        response=EventChange,
        request=EventUpdateRequest,
        params=(
            Param(
                "If-Match",
                "header",
                "the revision the change is based on (409 when the event moved on)",
                {"type": "string", "pattern": r'^"?[0-9]{1,15}"?$'},
            ),
        ),
        writes=True,
    ),
    "delete_event": Operation("Delete an event type", "events", response=Removal, params=(_FORCE,), writes=True),
    "get_version": Operation("One version's schema", "events", response=VersionDetail),
    "delete_version": Operation("Delete one version", "events", response=Removal, params=(_FORCE,), writes=True),
    "diff_versions": Operation(
        "Both compatibility directions between two versions, with both schemas",
        "events",
        response=SchemaDiff,
        params=(
            Param("from", "query", "the earlier version", VERSION_SCHEMA, required=True),
            Param("to", "query", "the later version", VERSION_SCHEMA, required=True),
        ),
    ),
    "list_event_subscriptions": Operation(
        "Who consumes this event (its owner only)", "events", response=EventSubscriptionList, params=_PAGE
    ),
    "try_event": Operation(
        "Try a sample envelope: validation as the producer endpoint, and the subscriptions it would reach",
        "events",
        response=TrialResult,
        request=SampleEvent,
    ),
    "create_subscription": Operation(
        "Subscribe to an event version", "subscriptions", 201, Subscription, SubscriptionCreateRequest, writes=True
    ),
    "list_subscriptions": Operation(
        "The caller's subscriptions", "subscriptions", response=SubscriptionList, params=_PAGE
    ),
    "get_subscription": Operation(
        "A subscription and its deployment status", "subscriptions", response=SubscriptionDetail
    ),
    "delete_subscription": Operation("Delete a subscription (its team only)", "subscriptions", writes=True),
    "change_subscription": Operation(
        "Change a subscription's filter or delivery settings (a new consumer deployment)",
        "subscriptions",
        response=Subscription,
        request=SubscriptionChangeRequest,
        writes=True,
    ),
    "start_replay": Operation(
        "Replay a window of archived events to this subscription only", "recovery", 201, Replay, ReplayRequest
    ),
    "get_replay": Operation("A replay's state", "recovery", response=Replay),
    "get_dead_letters": Operation(
        "How many events are in the subscription's dead-letter queue, and a sample",
        "recovery",
        response=DeadLetters,
        params=(
            Param(
                "sample",
                "query",
                "how many to show (0..10, default 10)",
                {"type": "integer", "minimum": 0, "maximum": 10},
            ),
        ),
    ),
    "redrive_dead_letters": Operation(
        "Deliver the dead letters again through the subscription's rule", "recovery", response=Redrive
    ),
    "get_producer_access": Operation(
        "What the owning team's producers need to send this version: endpoint or queue, credential, an example",
        "events",
        response=ProducerInstructions,
    ),
    "get_deployment": Operation("A deployment's status", "deployments", response=DeploymentRecord),
    "get_terraform": Operation(
        "The synthesized Terraform JSON (404 until synthesized)",
        "deployments",
        response_description="Terraform JSON",
    ),
    "get_graph": Operation(
        "Producer applications -> event types -> consumers (team, target unit, connection type)",
        "catalog",
        response=Graph,
        params=(Param("event_type", "query", "only this event type (404 when unknown)", _IDENTIFIER),),
    ),
    "catalog_shell": Operation(
        "The catalog pages' HTML shell (public, carries no data: the page calls the API with the user's token)",
        "catalog",
        response_description="HTML",
        media_types=("text/html",),
    ),
    "catalog_asset": Operation(
        "The catalog pages' script or stylesheet (public, no data)",
        "catalog",
        response_description="JavaScript or CSS",
        media_types=tuple(sorted({value.split(";")[0] for value in ASSETS.values()})),
    ),
    "openapi": Operation("This document", "meta", response_description="OpenAPI 3.1"),
    "health": Operation("Liveness", "meta", response_description="ok"),
}

#: OpenAPI links (what the stateful phase of an API fuzzer follows): from a view's success answer to
#: other views, with the path parameters taken from the answer's body
LINKS: dict[str, dict[str, dict[str, str]]] = {
    "create_event": {
        view: {"event_type": "$response.body#/event/event_type"}
        for view in ("get_event", "update_event", "delete_event", "list_event_subscriptions")
    }
    | {
        "get_producer_access": {
            "event_type": "$response.body#/event/event_type",
            "version": "$response.body#/version",
        }
    },
    "create_subscription": {
        view: {"sub_id": "$response.body#/subscription_id"}
        for view in (
            "get_subscription",
            "change_subscription",
            "delete_subscription",
            "get_dead_letters",
            "start_replay",
        )
    }
    | {"get_deployment": {"dep_id": "$response.body#/deployment_id"}},
    "start_replay": {
        "get_replay": {"sub_id": "$response.body#/subscription_id", "replay_name": "$response.body#/replay_name"}
    },
}

_ERRORS = (
    (400, "invalid input (field and rule in details)"),
    (401, "not authenticated"),
    (403, "not allowed for this team"),
    (404, "not found"),
    (409, "conflict with the current state (or a schema that breaks the compatibility mode)"),
    (415, "Content-Type is not application/json"),
)

_GATEWAY_401 = {
    "type": "object",
    "description": "the gateway's own refusal when the Authorization header is missing",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}


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


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorBody]
    for operation in OPERATIONS.values():
        for model in (operation.request, operation.response):
            if model is not None and model not in found:
                found.append(model)
    return found


def _content(schema: Mapping[str, Any], media_types: tuple[str, ...] = (JSON,)) -> dict[str, Any]:
    return {"content": {media_type: {"schema": dict(schema)} for media_type in media_types}}


def _operation(view_name: str, method: str, path: str, authorized: bool, refs: Mapping[Any, Any]) -> dict[str, Any]:
    spec = OPERATIONS.get(view_name) or Operation(view_name.replace("_", " "), "other")
    error = refs[(ErrorBody, "serialization")]
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS.get(name, (name, {}))[0],
            "schema": PATH_PARAMETERS.get(name, ("", {"type": "string"}))[1],
        }
        for name in _path_names(path)
    ]
    parameters += [
        {
            "name": param.name,
            "in": param.where,
            "required": param.required,
            "description": param.description,
            "schema": dict(param.schema),
        }
        for param in spec.params
    ]
    ok: dict[str, Any] = {"description": spec.response_description}
    if spec.response is not None:
        ok.update(_content(refs[(spec.response, "serialization")]))
    elif spec.media_types != (JSON,):
        ok.update(_content({"type": "string"}, spec.media_types))
    else:
        ok.update(_content({}))
    if view_name in LINKS:
        ok["links"] = {
            target: {"operationId": target, "parameters": dict(parameters_from)}
            for target, parameters_from in LINKS[view_name].items()
        }
    responses: dict[str, Any] = {str(spec.status): ok}
    for status, text in _ERRORS:
        if status == 401 and not authorized:
            continue
        schema = {"anyOf": [error, _GATEWAY_401]} if status == 401 else error
        responses[str(status)] = {"description": text, **_content(schema)}
    if spec.writes:
        responses["503"] = {"description": "stored, a later step failed; completed by reconcile", **_content(error)}
    operation: dict[str, Any] = {
        "operationId": view_name,
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if spec.request is not None:
        operation["requestBody"] = {"required": True, **_content(refs[(spec.request, "validation")])}
    if not authorized:
        operation["security"] = []
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def openapi_document(routes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """OpenAPI 3.1 for every route in ``routes`` (``app.routes``: path -> method -> Chalice ``RouteEntry``)."""
    inputs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = []
    for model in _models():
        inputs += [(model, "validation"), (model, "serialization")]
    refs, definitions = models_json_schema(inputs, ref_template=_REF)
    paths: dict[str, Any] = {}
    for path, methods in sorted(routes.items()):
        paths[path] = {
            method.lower(): _operation(entry.view_name, method, path, entry.authorizer is not None, refs)
            for method, entry in sorted(methods.items())
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Event broker portal", "version": "1.1.0"},
        "security": [{"portal": []}],
        "tags": [{"name": name} for name in sorted({spec.tag for spec in OPERATIONS.values()})],
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {}), "securitySchemes": _security()},
    }
