"""A minimal HTTP client of the portal API over loopback (urllib: no extra dependency)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    """Status and decoded body (JSON when it parses, else the raw text)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            error = self.body["error"]
            details = "; ".join(f"{d.get('field')}: {d.get('rule')}" for d in error.get("details", []))
            return f"{error.get('code')}: {error.get('message')}" + (f" ({details})" if details else "")
        return str(self.body)[:300]


class PortalError(RuntimeError):
    """The portal answered a request the walk-through needs with an error."""

    def __init__(self, method: str, path: str, response: Response) -> None:
        super().__init__(f"{method} {path} -> {response.status} {response.error_message()}")
        self.response = response


class PortalClient:
    """Calls the portal at ``base_url`` as the team owning ``token`` (no token: anonymous)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def as_team(self, token: str | None) -> PortalClient:
        return PortalClient(self.base_url, token, self.timeout)

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Response:
        """Send one request; HTTP errors come back as a Response, connection errors raise OSError."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310  (loopback)
                return Response(answer.status, _decode(answer.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _decode(error.read()))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``request`` that raises PortalError unless the answer is 2xx; returns the body."""
        response = self.request(method, path, body)
        if not response.ok:
            raise PortalError(method, path, response)
        return response.body


def _decode(payload: bytes) -> Any:
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text
