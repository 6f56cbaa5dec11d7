"""The portal's own API models, imported from its source tree (not a second copy).

``chalicelib`` is the top-level package of the portal's Lambda bundle, not an installed distribution, so the
CLI (installed editable from this repository, like every package here) finds it next to itself under
``portal_chalice/``, the way the tests do. Only ``chalicelib.models`` is imported: pydantic models over
``broker_contract``, nothing of Chalice or boto3.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal_chalice"
if (_PORTAL_DIR / "chalicelib" / "models.py").is_file() and str(_PORTAL_DIR) not in sys.path:
    sys.path.append(str(_PORTAL_DIR))

from chalicelib.models import (  # noqa: E402
    ErrorBody,
    EventChange,
    EventDetail,
    EventList,
    EventSummary,
    Removal,
    Subscription,
    SubscriptionDetail,
    SubscriptionList,
    VersionDetail,
)

from broker_contract.models import DeploymentStatus  # noqa: E402
from broker_contract.records import DeploymentRecord  # noqa: E402

__all__ = [
    "DeploymentRecord",
    "DeploymentStatus",
    "ErrorBody",
    "EventChange",
    "EventDetail",
    "EventList",
    "EventSummary",
    "Removal",
    "Subscription",
    "SubscriptionDetail",
    "SubscriptionList",
    "VersionDetail",
]
