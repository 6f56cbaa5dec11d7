"""What a producer sends to an ``AWS_IAM`` producer method: a request signed with SigV4 as its publisher role.

The documented way to publish (docs/security.md, "Producer isolation"): assume the publisher role the
producer stack creates (output ``publisher_role_arn``), then sign ``POST <endpoint_url>`` with SigV4, service
``execute-api``, the broker's region, adding ``x-api-key`` when the producer uses ``auth: API_KEY``.
botocore's ``SigV4Auth`` signs (the code the AWS SDKs and CLI sign with), so there is no signer of our own.

In local mode, the embedded STS hands out credentials for any role without evaluating its trust policy, and
the local gateway (:mod:`local_mode.gateway`) checks the signature's presence and form, not its value nor any
IAM policy: these helpers produce what a real producer sends, the checks that only AWS can make are AWS's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

#: the service API Gateway's IAM authorization expects in the credential scope
EXECUTE_API = "execute-api"


def publisher_credentials(sts: Any, role_arn: str, session_name: str = "event-producer") -> Credentials:
    """Temporary credentials of the publisher role ``role_arn``, assumed through the STS client ``sts``."""
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])


def sign_request(
    url: str,
    body: str | bytes,
    headers: Mapping[str, str],
    *,
    region: str,
    credentials: Credentials,
    method: str = "POST",
) -> dict[str, str]:
    """``headers`` plus the SigV4 headers (``Authorization``, ``X-Amz-Date``, and ``X-Amz-Security-Token`` for
    temporary credentials) of ``method url`` with ``body``, for API Gateway (``execute-api``) in ``region``.

    Send exactly ``body`` to exactly ``url`` with the returned headers: the signature covers both (and the
    ``Host`` the URL names, which HTTP clients derive from it).
    """
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, EXECUTE_API, region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}
