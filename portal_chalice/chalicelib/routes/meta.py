"""Unauthenticated endpoints: the OpenAPI document and a health check."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import json_response
from chalicelib.openapi import openapi_document

meta_blueprint = Blueprint(__name__)
bp = meta_blueprint


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    return json_response(openapi_document(bp.current_app.routes))


@bp.route("/health", methods=["GET"])
def health() -> Response:
    return json_response({"status": "ok"})
