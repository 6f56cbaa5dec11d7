"""API Gateway adapter: the value of a producer's API key (the only API Gateway call the portal makes)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from broker_contract.lazy_client import LazyClient


class ApiKeyMissing(LookupError):
    """The key named by a producer deployment's outputs does not exist (destroyed, or not applied yet)."""


class ApiKeys(LazyClient):
    """Reads API key values; the portal hands them to the team that owns the event, never stores them."""

    def value(self, api_key_id: str) -> str:
        try:
            response = self.client.get_api_key(apiKey=api_key_id, includeValue=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NotFoundException":
                raise ApiKeyMissing(api_key_id) from error
            raise
        return str(response["value"])
