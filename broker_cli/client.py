"""The portal's REST API over httpx, answers parsed into the portal's own models.

Every method returns a ``Reply``: the JSON exactly as the portal sent it (what ``--json`` prints) and the
same answer validated by the portal's model (what the tables read). Endpoints of issue 10 whose models are
not in ``chalicelib.models`` yet (diff, an event's subscriptions, test, PATCH, replays, dead letters) are
returned as the JSON the agreed contract describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from broker_cli.portal_models import (
    DeploymentRecord,
    ErrorBody,
    EventChange,
    EventDetail,
    EventList,
    Removal,
    Subscription,
    SubscriptionDetail,
    SubscriptionList,
    VersionDetail,
)

M = TypeVar("M", bound=BaseModel)
JSON = dict[str, Any]


@dataclass
class PortalError(Exception):
    """The portal (or the gateway in front of it) refused a request; ``message`` is the portal's wording."""

    status: int
    message: str
    code: str = ""
    details: list[dict[str, str]] = field(default_factory=list)
    #: True when the body had the portal's ``{"error": ...}`` shape; False for a gateway's own refusal
    from_portal: bool = False

    def __str__(self) -> str:
        return self.message

    @property
    def unavailable(self) -> bool:
        """The route does not exist on this portal: the gateway refused it (403/404 without the portal's shape)."""
        return not self.from_portal and self.status in (403, 404)


class Unreachable(Exception):
    """No HTTP answer at all (connection refused, DNS, timeout)."""


@dataclass(frozen=True)
class Reply(Generic[M]):
    """One answer: ``raw`` as sent by the portal and ``model`` its typed reading."""

    raw: Any
    model: M


def _path(*parts: str | int) -> str:
    return "/" + "/".join(quote(str(part), safe="") for part in parts)


class PortalClient:
    """A team's view of the portal (its URL and bearer token)."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "broker-cli"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    # --- transport --------------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None, headers: Any = None
    ) -> Any:
        """The decoded JSON answer; ``PortalError`` for any status >= 400, ``Unreachable`` without an answer."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            response = self.http.request(method, path, json=body, params=query, headers=headers)
        except httpx.HTTPError as error:
            raise Unreachable(f"the portal at {self.http.base_url} cannot be reached: {error}") from None
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise self._error(response.status_code, payload, response.text)
        return payload

    @staticmethod
    def _error(status: int, payload: Any, text: str) -> PortalError:
        try:
            body = ErrorBody.model_validate(payload)
        except ValidationError:
            message = payload.get("message") if isinstance(payload, dict) else None
            return PortalError(status, str(message or text.strip() or f"HTTP {status}"))
        return PortalError(
            status,
            body.error.message,
            body.error.code,
            [detail.model_dump() for detail in body.error.details],
            from_portal=True,
        )

    def _typed(self, model: type[M], method: str, path: str, **kwargs: Any) -> Reply[M]:
        raw = self.call(method, path, **kwargs)
        return Reply(raw, model.model_validate(raw))

    # --- events -----------------------------------------------------------------------------

    def list_events(
        self,
        application: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Reply[EventList]:
        params = {"application": application, "owner": owner, "limit": limit, "cursor": cursor}
        return self._typed(EventList, "GET", "/events", params=params)

    def event(self, event_type: str) -> Reply[EventDetail]:
        return self._typed(EventDetail, "GET", _path("events", event_type))

    def version(self, event_type: str, version: int) -> Reply[VersionDetail]:
        return self._typed(VersionDetail, "GET", _path("events", event_type, "versions", version))

    def create_event(self, body: JSON) -> Reply[EventChange]:
        return self._typed(EventChange, "POST", "/events", body=body)

    def update_event(self, event_type: str, body: JSON, if_match: int | None = None) -> Reply[EventChange]:
        headers = {"If-Match": str(if_match)} if if_match is not None else None
        return self._typed(EventChange, "PUT", _path("events", event_type), body=body, headers=headers)

    def delete_event(self, event_type: str, version: int | None = None, force: bool = False) -> Reply[Removal]:
        path = _path("events", event_type) if version is None else _path("events", event_type, "versions", version)
        return self._typed(Removal, "DELETE", path, params={"force": "true" if force else None})

    def diff(self, event_type: str, start: int, end: int) -> JSON:
        """``GET /events/{type}/diff`` (issue 10)."""
        return dict(self.call("GET", _path("events", event_type, "diff"), params={"from": start, "to": end}))

    def event_subscriptions(self, event_type: str, limit: int | None = None, cursor: str | None = None) -> JSON:
        """``GET /events/{type}/subscriptions`` (issue 10; owner only)."""
        params = {"limit": limit, "cursor": cursor}
        return dict(self.call("GET", _path("events", event_type, "subscriptions"), params=params))

    def test_event(self, event_type: str, version: int, envelope: JSON) -> JSON:
        """``POST /events/{type}/versions/{n}/test`` (issue 10)."""
        return dict(self.call("POST", _path("events", event_type, "versions", version, "test"), body=envelope))

    # --- subscriptions ----------------------------------------------------------------------

    def subscribe(self, body: JSON) -> Reply[Subscription]:
        return self._typed(Subscription, "POST", "/subscriptions", body=body)

    def list_subscriptions(self, limit: int | None = None, cursor: str | None = None) -> Reply[SubscriptionList]:
        return self._typed(SubscriptionList, "GET", "/subscriptions", params={"limit": limit, "cursor": cursor})

    def subscription(self, subscription_id: str) -> Reply[SubscriptionDetail]:
        return self._typed(SubscriptionDetail, "GET", _path("subscriptions", subscription_id))

    def update_subscription(self, subscription_id: str, body: JSON) -> JSON:
        """``PATCH /subscriptions/{id}`` (issue 10)."""
        return dict(self.call("PATCH", _path("subscriptions", subscription_id), body=body))

    def replay(self, subscription_id: str, start: str, end: str) -> JSON:
        """``POST /subscriptions/{id}/replays`` (issue 10): archived events of a time window, again."""
        return dict(
            self.call("POST", _path("subscriptions", subscription_id, "replays"), body={"start": start, "end": end})
        )

    def replay_state(self, subscription_id: str, replay_name: str) -> JSON:
        """``GET /subscriptions/{id}/replays/{name}`` (issue 10)."""
        return dict(self.call("GET", _path("subscriptions", subscription_id, "replays", replay_name)))

    def dead_letters(self, subscription_id: str, sample: int | None = None) -> JSON:
        """``GET /subscriptions/{id}/dead-letters`` (issue 10)."""
        path = _path("subscriptions", subscription_id, "dead-letters")
        return dict(self.call("GET", path, params={"sample": sample}))

    def redrive(self, subscription_id: str) -> JSON:
        """``POST /subscriptions/{id}/dead-letters/redrive`` (issue 10)."""
        return dict(self.call("POST", _path("subscriptions", subscription_id, "dead-letters", "redrive")))

    def delete_subscription(self, subscription_id: str) -> JSON:
        return dict(self.call("DELETE", _path("subscriptions", subscription_id)))

    # --- deployments ------------------------------------------------------------------------

    def deployment(self, deployment_id: str) -> Reply[DeploymentRecord]:
        return self._typed(DeploymentRecord, "GET", _path("deployments", deployment_id))

    def terraform(self, deployment_id: str) -> Any:
        return self.call("GET", _path("deployments", deployment_id, "terraform"))
