"""``/deployments``: the status of a deployment and its synthesized Terraform."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.http import api_view, caller, deployment_id, json_response, query

deployments_blueprint = Blueprint(__name__)
bp = deployments_blueprint


@bp.route("/deployments/{dep_id}", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_deployment(dep_id: str) -> Response:
    request = bp.current_request
    team = caller(request)
    query(request, ())
    return json_response(services().deployments.get(team, deployment_id(dep_id)))


@bp.route("/deployments/{dep_id}/terraform", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_terraform(dep_id: str) -> Response:
    request = bp.current_request
    team = caller(request)
    query(request, ())
    return json_response(services().deployments.terraform(team, deployment_id(dep_id)))
