"""boto3 clients pointed at the embedded AWS (moto_server), built lazily, with throw-away credentials."""

from __future__ import annotations

from typing import Any

#: moto accepts any credentials; fixed ones keep a developer's real AWS credentials out of local mode
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's documented dummy value
    "AWS_SESSION_TOKEN": "testing",
}


def aws_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Environment variables that send every AWS SDK call of a child process to ``endpoint_url``."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # never read ~/.aws: a developer's profile must not leak into local mode
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


class AwsClients:
    """One cached boto3 client per service, all on ``endpoint_url``; the first call builds it."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3  # noqa: PLC0415  (lazy: importing boto3 costs ~0.3 s that --help and error paths do not need)

            session = boto3.session.Session(
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                region_name=self.region,
            )
            self._clients[service] = session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]
