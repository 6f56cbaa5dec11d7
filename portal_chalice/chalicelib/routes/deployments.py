"""``/deployments``: the status of a deployment and its synthesized Terraform."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.http import api_view, deployment_id, incoming, json_response

deployments_blueprint = Blueprint(__name__)
bp = deployments_blueprint


@bp.route("/deployments/{dep_id}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_deployment(dep_id: str) -> Response:
    call = incoming(bp.current_request)
    return json_response(services().deployments.get(call.team, deployment_id(dep_id)))


@bp.route("/deployments/{dep_id}/terraform", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_terraform(dep_id: str) -> Response:
    call = incoming(bp.current_request)
    return json_response(services().deployments.terraform(call.team, deployment_id(dep_id)))
