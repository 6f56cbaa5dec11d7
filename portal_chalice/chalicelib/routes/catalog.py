"""The catalog pages (``/catalog``) and the graph they draw (``GET /graph``).

The pages are one HTML shell plus one ES module and one stylesheet, served as files from
``chalicelib/catalog_pages``: no build step, no framework, nothing fetched from elsewhere at run time.

How the pages authenticate: a browser cannot put a bearer token on a navigation, so the shell and its
two files are public and carry no data at all. The page asks for the user's portal token, keeps it in
``sessionStorage`` (gone when the tab closes) and sends it as ``Authorization: Bearer`` on every call to
the authenticated API, exactly like curl or the CLI; whatever the API refuses, the page cannot show.
"""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Blueprint, Response

from chalicelib.auth import AUTHORIZER
from chalicelib.container import services
from chalicelib.errors import not_found
from chalicelib.http import api_view, incoming, json_response, optional_identifier
from chalicelib.services.graph import GraphService

catalog_blueprint = Blueprint(__name__)
bp = catalog_blueprint

PAGES_DIR = Path(__file__).resolve().parent.parent / "catalog_pages"
#: the only files served, with their content types (nothing else under the directory is reachable)
ASSETS = {
    "catalog.js": "text/javascript; charset=utf-8",
    "catalog.css": "text/css; charset=utf-8",
}
#: the page runs only its own script and style and talks only to its own origin
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@functools.cache
def page_file(name: str) -> str:
    """A page file's text (read once per process)."""
    return (PAGES_DIR / name).read_text(encoding="utf-8")


def _file_response(name: str, content_type: str) -> Response:
    return Response(
        body=page_file(name),
        status_code=200,
        headers={"Content-Type": content_type, "Cache-Control": "no-cache", **SECURITY_HEADERS},
    )


@bp.route("/catalog", methods=["GET"])
def catalog_shell() -> Response:
    """The HTML shell: public, no data (every datum is fetched with the user's token)."""
    return _file_response("index.html", "text/html; charset=utf-8")


@bp.route("/catalog/static/{name}", methods=["GET"])
@api_view
def catalog_asset(name: str) -> Response:
    content_type = ASSETS.get(name)
    if content_type is None:
        raise not_found(f"no catalog file {name!r}")
    return _file_response(name, content_type)


@bp.route("/graph", methods=["GET"], authorizer=AUTHORIZER)
@api_view
def get_graph() -> Response:
    call = incoming(bp.current_request, ("event_type",))
    return json_response(GraphService(services().backend).graph(optional_identifier(call.params, "event_type")))
