"""What a producer needs to send an event version: where to, with which credential, and a ready example.

Everything comes from the version's producer deployment as applied (its Terraform outputs in the catalog),
so the answer is what exists, not what was asked for; the API key's value is read from API Gateway for
the owning team only, and never stored by the portal.
"""

from __future__ import annotations

import json
from typing import Any

from broker_contract.models import DeploymentAction, DeploymentStatus
from chalicelib.aws.gateway import ApiKeyMissing, ApiKeys
from chalicelib.errors import forbidden, not_found
from chalicelib.models import ProducerInstructions
from chalicelib.services.backend import Backend

API_KEY_HEADER = "x-api-key"


def sample_envelope(application: str, data_schema: dict[str, Any]) -> dict[str, Any]:
    """An envelope whose ``data`` names every required field of the schema (values to fill in)."""
    required = data_schema.get("required", []) if isinstance(data_schema, dict) else []
    return {
        "metadata": {"event_attributes": {"source": application, "target": "<target unit>"}},
        "data": {name: f"<{name}>" for name in required},
    }


class ProducerAccess:
    """``access(team, event_type, version)``: the producing team's sending instructions."""

    def __init__(self, backend: Backend, api_keys: ApiKeys) -> None:
        self.backend = backend
        self.api_keys = api_keys

    def access(self, team: str, event_type: str, version: int) -> ProducerInstructions:
        """The instructions for ``event_type`` v``version``: 404 unknown, 403 unless ``team`` owns it."""
        return ProducerInstructions.model_validate(self._answer(team, event_type, version))

    def _answer(self, team: str, event_type: str, version: int) -> dict[str, Any]:
        catalog = self.backend.catalog
        event = catalog.get_event(event_type)
        record = catalog.get_version(event_type, version)
        if event is None or record is None:
            raise not_found(f"event type {event_type!r} has no version {version}")
        if event.owner != team:
            raise forbidden(f"only the owning team ({event.owner}) receives the credentials of {event_type}")
        deployment = self.backend.deployments.get(record.deployment_id)
        status = deployment.status if deployment else DeploymentStatus.PENDING
        answer: dict[str, Any] = {
            "event_type": event_type,
            "version": version,
            "connection_type": event.connection_type,
            "deployment_id": record.deployment_id,
            "deployment_status": status.value,
        }
        deployed = deployment is not None and deployment.action is DeploymentAction.DEPLOY
        if deployment is None or not deployed or status is not DeploymentStatus.DEPLOYED:
            answer["ready"] = False
            answer["message"] = "the producer is not deployed yet: ask again once deployment_status is 'deployed'"
            return answer
        outputs = deployment.outputs or {}
        envelope = json.dumps(sample_envelope(event.application, record.data_schema), separators=(",", ":"))
        answer["ready"] = True
        if "endpoint_url" in outputs:
            answer["endpoint_url"] = outputs["endpoint_url"]
            headers = "-H 'Content-Type: application/json'"
            if "api_key_id" in outputs:
                try:
                    answer["api_key"] = {"header": API_KEY_HEADER, "value": self.api_keys.value(outputs["api_key_id"])}
                except ApiKeyMissing:
                    answer["ready"] = False
                    answer["message"] = "the producer's API key is gone: redeploy the version"
                    return answer
                headers += f" -H '{API_KEY_HEADER}: {answer['api_key']['value']}'"
            signing = ""
            if "publisher_role_arn" in outputs:
                # IAM authorization: the producer signs as its publisher role (assumed from one of its accounts)
                answer["publisher_role_arn"] = outputs["publisher_role_arn"]
                signing = (
                    f" --aws-sigv4 'aws:amz:{self.backend.config.region}:execute-api'"
                    ' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN"'
                )
                answer["credentials"] = (
                    f"assume {outputs['publisher_role_arn']} (aws sts assume-role) and export its credentials "
                    "as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN before sending"
                )
            answer["example"] = f"curl -s -X POST {outputs['endpoint_url']}{signing} {headers} -d '{envelope}'"
        if "queue_url" in outputs:
            answer["queue_url"] = outputs["queue_url"]
            answer["example"] = f"aws sqs send-message --queue-url {outputs['queue_url']} --message-body '{envelope}'"
        return answer
