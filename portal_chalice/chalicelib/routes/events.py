"""``/events``: register, list, read, change and delete event types and versions."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.errors import FieldProblem, bad_request
from chalicelib.http import (
    api_view,
    flag,
    identifier,
    if_match_revision,
    incoming,
    json_response,
    optional_identifier,
    parse_body,
    version_number,
)
from chalicelib.models import EventCreateRequest, EventUpdateRequest, SampleEvent
from chalicelib.services.pagination import parse_limit

events_blueprint = Blueprint(__name__)
bp = events_blueprint


@bp.route("/events", methods=["POST"], authorizer=AUTHORIZER)
@api_view
def create_event() -> Response:
    call = incoming(bp.current_request)
    body = parse_body(call.request, EventCreateRequest)
    return json_response(services().events.create(call.team, body), 201)


@bp.route("/events", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def list_events() -> Response:
    call = incoming(bp.current_request, ("application", "owner", "limit", "cursor"))
    result = services().events.list(
        optional_identifier(call.params, "application"),
        optional_identifier(call.params, "owner"),
        parse_limit(call.params.get("limit")),
        call.params.get("cursor"),
    )
    return json_response(result)


@bp.route("/events/{event_type}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_event(event_type: str) -> Response:
    incoming(bp.current_request)
    return json_response(services().events.get(identifier(event_type, "event_type")))


@bp.route("/events/{event_type}/versions/{version}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_version(event_type: str, version: str) -> Response:
    incoming(bp.current_request)
    return json_response(services().events.get_version(identifier(event_type, "event_type"), version_number(version)))


@bp.route("/events/{event_type}", methods=["PUT"], authorizer=AUTHORIZER)
@api_view
def update_event(event_type: str) -> Response:
    call = incoming(bp.current_request)
    name = identifier(event_type, "event_type")
    body = parse_body(call.request, EventUpdateRequest)
    return json_response(services().events.update(call.team, name, body, if_match_revision(call.request)))


@bp.route("/events/{event_type}", methods=["DELETE"], authorizer=AUTHORIZER)
@api_view
def delete_event(event_type: str) -> Response:
    call = incoming(bp.current_request, ("force",))
    name = identifier(event_type, "event_type")
    return json_response(services().events.delete(call.team, name, None, flag(call.params, "force")))


@bp.route("/events/{event_type}/versions/{version}", methods=["DELETE"], authorizer=AUTHORIZER)
@api_view
def delete_version(event_type: str, version: str) -> Response:
    call = incoming(bp.current_request, ("force",))
    name = identifier(event_type, "event_type")
    return json_response(services().events.delete(call.team, name, version_number(version), flag(call.params, "force")))


@bp.route("/events/{event_type}/diff", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def diff_versions(event_type: str) -> Response:
    call = incoming(bp.current_request, ("from", "to"))
    name = identifier(event_type, "event_type")
    missing = [key for key in ("from", "to") if key not in call.params]
    if missing:
        raise bad_request(
            f"missing query parameter(s): {', '.join(missing)}",
            *(FieldProblem(key, "required: a version number") for key in missing),
        )
    earlier, later = version_number(call.params["from"], "from"), version_number(call.params["to"], "to")
    return json_response(services().events.diff(name, earlier, later))


@bp.route("/events/{event_type}/subscriptions", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def list_event_subscriptions(event_type: str) -> Response:
    call = incoming(bp.current_request, ("limit", "cursor"))
    name = identifier(event_type, "event_type")
    return json_response(
        services().consumers.of_event(call.team, name, parse_limit(call.params.get("limit")), call.params.get("cursor"))
    )


@bp.route(
    "/events/{event_type}/versions/{version}/test",
    methods=["POST"],
    authorizer=AUTHORIZER,
    content_types=["application/json"],
)
@api_view
def try_event(event_type: str, version: str) -> Response:
    call = incoming(bp.current_request)
    name, number = identifier(event_type, "event_type"), version_number(version)
    sample = parse_body(call.request, SampleEvent)
    return json_response(services().trial.try_event(call.team, name, number, sample.model_dump()))
