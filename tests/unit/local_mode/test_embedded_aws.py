"""The embedded AWS launcher refuses to patch a moto that lacks what it replaces (no moto import here)."""

from __future__ import annotations

import sys

import pytest

from local_mode.embedded_aws import MotoChanged, _replace, command


class Backend:
    def send_message(self) -> str:
        return "moto"


def test_a_missing_moto_internal_stops_the_launcher_instead_of_adding_it() -> None:
    with pytest.raises(MotoChanged, match=r"Backend\.transact_write_items"):
        _replace(Backend, "transact_write_items", lambda self: None)
    assert not hasattr(Backend, "transact_write_items")


def test_an_existing_internal_is_replaced() -> None:
    class Patched(Backend):
        pass

    _replace(Patched, "send_message", lambda self: "patched")
    assert (Patched().send_message(), Backend().send_message()) == ("patched", "moto")


def test_local_mode_runs_the_launcher_with_moto_servers_arguments() -> None:
    assert command(sys.executable, "127.0.0.1", 4566) == [
        sys.executable, "-m", "local_mode.embedded_aws", "-H", "127.0.0.1", "-p", "4566",
    ]  # fmt: skip
