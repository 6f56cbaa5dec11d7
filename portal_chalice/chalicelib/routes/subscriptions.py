"""``/subscriptions``: subscribe to an event version, list, read and delete subscriptions."""

from __future__ import annotations

import re

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.errors import FieldProblem, bad_request
from chalicelib.http import api_view, incoming, json_response, parse_body, subscription_id
from chalicelib.models import ReplayRequest, SubscriptionChangeRequest, SubscriptionCreateRequest
from chalicelib.services.pagination import parse_limit

subscriptions_blueprint = Blueprint(__name__)
bp = subscriptions_blueprint


@bp.route("/subscriptions", methods=["POST"], authorizer=AUTHORIZER)
@api_view
def create_subscription() -> Response:
    call = incoming(bp.current_request)
    body = parse_body(call.request, SubscriptionCreateRequest)
    return json_response(services().subscriptions.create(call.team, body), 201)


@bp.route("/subscriptions", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def list_subscriptions() -> Response:
    call = incoming(bp.current_request, ("limit", "cursor"))
    limit = parse_limit(call.params.get("limit"))
    return json_response(services().subscriptions.list(call.team, limit, call.params.get("cursor")))


@bp.route("/subscriptions/{sub_id}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_subscription(sub_id: str) -> Response:
    call = incoming(bp.current_request)
    return json_response(services().subscriptions.get(call.team, subscription_id(sub_id)))


@bp.route("/subscriptions/{sub_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@api_view
def delete_subscription(sub_id: str) -> Response:
    call = incoming(bp.current_request)
    deployment = services().subscriptions.delete(call.team, subscription_id(sub_id))
    return json_response({"subscription_id": sub_id, "deployment_id": deployment})


@bp.route("/subscriptions/{sub_id}", methods=["PATCH"], authorizer=AUTHORIZER, content_types=["application/json"])
@api_view
def change_subscription(sub_id: str) -> Response:
    call = incoming(bp.current_request)
    identity = subscription_id(sub_id)
    body = parse_body(call.request, SubscriptionChangeRequest)
    return json_response(services().consumers.change(call.team, identity, body))


@bp.route(
    "/subscriptions/{sub_id}/replays", methods=["POST"], authorizer=AUTHORIZER, content_types=["application/json"]
)
@api_view
def start_replay(sub_id: str) -> Response:
    call = incoming(bp.current_request)
    identity = subscription_id(sub_id)
    body = parse_body(call.request, ReplayRequest)
    return json_response(services().recovery.start_replay(call.team, identity, body.start, body.end), 201)


@bp.route("/subscriptions/{sub_id}/replays/{replay_name}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_replay(sub_id: str, replay_name: str) -> Response:
    call = incoming(bp.current_request)
    return json_response(services().recovery.replay(call.team, subscription_id(sub_id), replay_name))


def sample_size(raw: str | None) -> int:
    """``sample`` query parameter: 0..10 (SQS returns at most 10 messages per read), default 10."""
    if raw is None:
        return 10
    if re.fullmatch(r"[0-9]{1,2}", raw) is None or int(raw) > 10:
        raise bad_request(f"invalid sample {raw!r}", FieldProblem("sample", "must be a whole number from 0 to 10"))
    return int(raw)


@bp.route("/subscriptions/{sub_id}/dead-letters", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_dead_letters(sub_id: str) -> Response:
    call = incoming(bp.current_request, ("sample",))
    identity = subscription_id(sub_id)
    return json_response(services().recovery.dead_letters(call.team, identity, sample_size(call.params.get("sample"))))


@bp.route("/subscriptions/{sub_id}/dead-letters/redrive", methods=["POST"], authorizer=AUTHORIZER)
@api_view
def redrive_dead_letters(sub_id: str) -> Response:
    call = incoming(bp.current_request)
    return json_response(services().recovery.redrive(call.team, subscription_id(sub_id)))
