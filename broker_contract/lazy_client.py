"""The lazy client every AWS adapter holds, portal and generator alike.

The client is built on first use, so moto is active before any client exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class LazyClient:
    """Base of the adapters: ``client`` is made by ``client_factory`` the first time it is used."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client
