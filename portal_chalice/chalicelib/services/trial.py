"""Try before you send: judge a sample envelope as the producer endpoint would, and route it as EventBridge would.

* Validation: API Gateway request models are JSON Schema draft-04, so the sample is validated with
  ``Draft4Validator`` against the full envelope schema registered for the version (the same
  ``envelope_schema`` the producer deployment carries).
* Routing: the event the producer endpoint would put on the bus (source = application, detail-type
  ``<event_type>.<version>``, detail = the envelope) is matched against each subscription's rule
  pattern (``broker_contract.routing.event_pattern``, the deployed rule's own definition) with moto's
  EventBridge matcher (``moto.events.models.EventPattern``): a maintained implementation of
  EventBridge's pattern semantics (prefix, suffix, anything-but, numeric, exists, ``$or`` ...)
  rather than a hand-written twin. moto is therefore a runtime dependency of the portal (same pin
  as in development: ``moto==5.2.5`` in pyproject.toml and portal_chalice/requirements.txt); only
  this pure matcher is used, no mock is activated.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jsonschema import Draft4Validator

from broker_contract.names import detail_type
from broker_contract.routing import event_pattern
from broker_contract.schemas import envelope_schema
from chalicelib.errors import not_found
from chalicelib.models import ErrorDetail, SubscriptionMatch, TrialResult
from chalicelib.services.backend import Backend

logger = logging.getLogger(__name__)

#: rules are long enough to name the failing keyword and value; instances can be large
MAX_RULE_CHARACTERS = 500


def _pointer(path: Any) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path) or "/"


def envelope_errors(schema: dict[str, Any], sample: Any) -> list[ErrorDetail]:
    """Every draft-04 validation error of ``sample``: field = JSON pointer in the envelope, rule = the message."""
    errors = sorted(
        Draft4Validator(schema).iter_errors(sample), key=lambda error: (list(error.absolute_path), error.message)
    )
    return [
        ErrorDetail(field=_pointer(error.absolute_path), rule=error.message[:MAX_RULE_CHARACTERS]) for error in errors
    ]


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern`` (moto's matcher).

    A pattern the matcher refuses would have been refused by EventBridge too (no rule, no delivery).
    """
    # imported on first use: moto's models take about half a second to import, a cost for every cold start
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415
    from moto.events.models import EventPattern  # noqa: PLC0415

    try:
        return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]
    except (JsonRESTError, ValueError, TypeError):
        logger.warning("pattern %s cannot be evaluated", json.dumps(pattern)[:200], exc_info=True)
        return False


class TrialService:
    """``POST /events/{event_type}/versions/{version}/test``."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def try_event(self, team: str, event_type: str, version: int, sample: dict[str, Any]) -> TrialResult:
        catalog = self.backend.catalog
        event = catalog.get_event(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        stored = catalog.get_version(event_type, version)
        if stored is None:
            raise not_found(f"event type {event_type!r} has no version {version}")
        errors = envelope_errors(envelope_schema(stored.data_schema, event_type, version), sample)
        kind = detail_type(event_type, version)
        found: list[SubscriptionMatch] = []
        if not errors:
            config = self.backend.config
            bus_event = {
                "version": "0",
                "id": "00000000-0000-0000-0000-000000000000",
                "detail-type": kind,
                "source": event.application,
                "account": config.account_id,
                "time": self.backend.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": config.region,
                "resources": [],
                "detail": sample,
            }
            for subscription in catalog.subscriptions_of_event(event_type, version):
                if team not in (event.owner, subscription.team) or not subscription.active:
                    continue
                pattern = event_pattern(event.application, kind, subscription.target_unit, subscription.content_filter)
                if matches(pattern, bus_event):
                    found.append(
                        SubscriptionMatch(
                            subscription_id=subscription.subscription_id,
                            team=subscription.team,
                            target_unit=subscription.target_unit,
                            connection_type=subscription.connection_type,
                        )
                    )
        return TrialResult(valid=not errors, errors=errors, detail_type=kind, source=event.application, matches=found)
