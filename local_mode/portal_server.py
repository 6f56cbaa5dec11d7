"""The portal on loopback through Chalice's own local server, for when ``chalice local`` cannot start.

``chalice local`` needs ``portal_chalice/.chalice/config.json``; without it (or with ``--direct``) local mode
runs this module instead: the same ``app`` object, the same ``chalice.local.LocalDevServer`` (routes,
built-in authorizers, CORS), configured in code rather than from the project file.

``python -m local_mode.portal_server --host H --port P`` (cwd: ``portal_chalice``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from chalice.config import Config
from chalice.local import create_local_server

PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal_chalice"
#: werkzeug's (and so moto_server's) listen backlog; Chalice's server keeps socketserver's 5
LISTEN_BACKLOG = 128


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_mode.portal_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PORTAL_DIR))
    app = importlib.import_module("app").app
    config = Config.create(
        chalice_stage=args.stage, app_name=app.app_name, project_dir=str(PORTAL_DIR), chalice_app=app
    )
    server = create_local_server(app, config, args.host, args.port)
    # With a backlog of 5, concurrent clients get "connection reset by peer": while request threads hold the
    # GIL the accepting thread falls behind and the kernel's accept queue overflows. listen() again resizes it.
    server.server.socket.listen(LISTEN_BACKLOG)
    print(f"Serving on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
