"""The generator's S3 adapter: deployment files in, synthesized Terraform JSON out.

The only place of the generator that reads S3 error codes: a file that is gone is
:class:`DeploymentFileMissing`; every other failure propagates (the deployment is retried).
"""

from __future__ import annotations

from broker_contract.lazy_client import LazyClient

#: the codes S3 answers for an object that does not exist (``GetObject`` and ``HeadObject``)
_MISSING_CODES = ("NoSuchKey", "404", "NotFound")


class DeploymentFileMissing(LookupError):
    """The deployment file named by a notification no longer exists."""


class DeploymentFiles(LazyClient):
    """Reads deployment files and writes artifacts through a boto3 S3 client built on first use."""

    def read(self, bucket: str, key: str) -> bytes:
        """The file's bytes; :class:`DeploymentFileMissing` when it is gone."""
        # imported here: ``generator.handler`` imports this module and must load no boto3 until the first file
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING_CODES:
                raise DeploymentFileMissing(f"s3://{bucket}/{key} does not exist") from error
            raise
        return body

    def put_artifact(self, bucket: str, key: str, body: bytes) -> None:
        """Store a synthesized ``cdk.tf.json``."""
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
