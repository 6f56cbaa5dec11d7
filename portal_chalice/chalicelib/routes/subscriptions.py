"""``/subscriptions``: subscribe to an event version, list, read and delete subscriptions."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.http import api_view, caller, json_response, parse_body, query, subscription_id
from chalicelib.models import SubscriptionCreateRequest
from chalicelib.services.pagination import parse_limit

subscriptions_blueprint = Blueprint(__name__)
bp = subscriptions_blueprint


@bp.route("/subscriptions", methods=["POST"], authorizer=AUTHORIZER)
@api_view
def create_subscription() -> Response:
    request = bp.current_request
    team = caller(request)
    query(request, ())
    body = parse_body(request, SubscriptionCreateRequest)
    return json_response(services().subscriptions.create(team, body), 201)


@bp.route("/subscriptions", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def list_subscriptions() -> Response:
    request = bp.current_request
    team = caller(request)
    params = query(request, ("limit", "cursor"))
    return json_response(services().subscriptions.list(team, parse_limit(params.get("limit")), params.get("cursor")))


@bp.route("/subscriptions/{sub_id}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_subscription(sub_id: str) -> Response:
    request = bp.current_request
    team = caller(request)
    query(request, ())
    return json_response(services().subscriptions.get(team, subscription_id(sub_id)))


@bp.route("/subscriptions/{sub_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@api_view
def delete_subscription(sub_id: str) -> Response:
    request = bp.current_request
    team = caller(request)
    query(request, ())
    deployment = services().subscriptions.delete(team, subscription_id(sub_id))
    return json_response({"subscription_id": sub_id, "deployment_id": deployment})
