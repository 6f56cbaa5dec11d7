"""S3 adapter: schema backups, deployment files and synthesized artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.lazy_client import LazyClient

_MISSING = {"NoSuchKey", "404", "NotFound"}


class ObjectStorage(LazyClient):
    """JSON objects in S3 over an injected client (built lazily by ``client_factory``)."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        super().__init__(client_factory)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        body = json.dumps(document, indent=2, sort_keys=True).encode()
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    def put_text(self, bucket: str, key: str, text: str) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json")

    def get_json(self, bucket: str, key: str) -> Any | None:
        """The parsed object, or ``None`` when it does not exist."""
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return json.loads(response["Body"].read())

    def delete(self, bucket: str, key: str) -> None:
        self.client.delete_object(Bucket=bucket, Key=key)

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                yield str(entry["Key"])
