"""``python -m broker_cli``: the same as the ``broker`` console script."""

from __future__ import annotations

from broker_cli.main import run

if __name__ == "__main__":
    run()
