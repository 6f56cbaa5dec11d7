"""``/events/{event_type}/versions/{version}/producer``: what the owning team's producers need to send."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.http import api_view, identifier, incoming, json_response, version_number

producers_blueprint = Blueprint(__name__)
bp = producers_blueprint


@bp.route("/events/{event_type}/versions/{version}/producer", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_producer_access(event_type: str, version: str) -> Response:
    call = incoming(bp.current_request)
    answer = services().producers.access(call.team, identifier(event_type, "event_type"), version_number(version))
    # what does not apply is absent, as the model's document says, not null
    return json_response(answer.model_dump(mode="json", exclude_none=True))
