"""The producers' REST API as applied in the embedded AWS, executed on loopback (moto does not run its data path).

moto stores API Gateway's configuration but does not execute AWS-service integrations, so local mode serves
``<url>/<stage>/<path>`` itself, reading everything from the embedded AWS on each request, never from what
our code knows the stacks contain:

1. the resource whose path matches (``get_resources``; ``{name}`` segments match one segment, a literal segment
   wins) on a REST API having that stage (the one named by an ``x-apigw-api-id`` header, else the first found:
   local mode has one), and its method (``get_method``; ``ANY`` as a fallback); none: 403
   ``Missing Authentication Token``, as API Gateway answers;
2. ``authorizationType`` ``AWS_IAM``: a SigV4 ``Authorization`` header must be present (else 403 ``Missing
   Authentication Token``, API Gateway's answer to an unsigned call) and complete (``Credential``,
   ``SignedHeaders``, ``Signature``, an ``X-Amz-Date`` or ``Date`` header), its credential scoped to
   ``execute-api`` in this region (else ``INCOMPLETE_SIGNATURE``/``INVALID_SIGNATURE``, worded as API Gateway).
   **Local mode does not verify the signature's value nor evaluate IAM policies** (moto keeps no secret it
   could check against, and the publisher roles' policies are proven on the synthesized stacks): any
   well-formed signature for the right service and region passes. :func:`local_mode.signing.sign_request`
   makes one as a producer would;
3. ``apiKeyRequired``: ``x-api-key`` must be the value of an enabled API key of a usage plan attached to
   this API and stage (``get_api_keys``, ``get_usage_plans``, ``get_usage_plan_keys``); else 403 ``Forbidden``;
4. the request validator and the method's request model: the body is validated against the model's JSON
   Schema (draft-04, ``jsonschema``'s ``Draft4Validator``); on failure the answer is the API's
   ``BAD_REQUEST_BODY`` gateway response (status and template, with ``$context.error.validationErrorString``);
5. the integration's request template for the request's content type (``passthroughBehavior`` applies when
   there is none), rendered by :mod:`local_mode.vtl` (Velocity, airspeed-ext);
6. the integration itself: ``AWS`` with ``events:action/PutEvents`` sends the rendered PutEvents request to
   the embedded EventBridge with boto3; ``MOCK`` answers the ``statusCode`` its template renders. Other kinds
   answer 500 (local mode does not run them). The integration's ``credentials`` role is not assumed;
7. the integration response whose ``selectionPattern`` matches the integration's status code (else the
   default one), its template rendered over the integration's answer; ``$context.responseOverride`` applies.

Every error API Gateway itself produces goes through the API's gateway responses (the type's own, else
``DEFAULT_4XX``/``DEFAULT_5XX``, else API Gateway's default template ``{"message":$context.error.messageString}``).

Limits: the stage serves the methods as they are now, not as snapshotted by its last deployment (moto keeps
no snapshot); no throttling, usage quotas, caching, authorizers, request parameter validation or signatures
in the query string (presigned URLs);
``validationErrorString`` lists ``jsonschema``'s messages, worded differently from API Gateway's.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.exceptions import ClientError, ParamValidationError
from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

from local_mode.aws import AwsClients
from local_mode.vtl import VtlError, render

log = logging.getLogger(__name__)

JSON = "application/json"
DEFAULT_GATEWAY_TEMPLATE = '{"message":$context.error.messageString}'
PUT_EVENTS_URI = re.compile(r"arn:aws[a-z-]*:apigateway:[a-z0-9-]+:events:action/PutEvents")
#: the parts of a SigV4 ``Authorization`` header after the algorithm
SIGV4_PARTS = ("Credential", "SignedHeaders", "Signature")
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
#: the service a signature for API Gateway's IAM authorization is scoped to
SIGNED_SERVICE = "execute-api"


@dataclass(frozen=True)
class GatewayError:
    """A response type of API Gateway itself: default status, message, and ``x-amzn-ErrorType``."""

    status: int
    message: str
    error_type: str


#: the response types this gateway produces, with API Gateway's defaults
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayError(
        403, "Missing Authentication Token", "MissingAuthenticationTokenException"
    ),
    "INVALID_API_KEY": GatewayError(403, "Forbidden", "ForbiddenException"),
    "INCOMPLETE_SIGNATURE": GatewayError(403, "Incomplete signature", "IncompleteSignatureException"),
    "INVALID_SIGNATURE": GatewayError(403, "Invalid signature", "InvalidSignatureException"),
    "BAD_REQUEST_BODY": GatewayError(400, "Invalid request body", "BadRequestException"),
    "UNSUPPORTED_MEDIA_TYPE": GatewayError(415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    "API_CONFIGURATION_ERROR": GatewayError(500, "Internal server error", "InternalServerErrorException"),
}


@dataclass
class Reply:
    """What the gateway answers: status, body, headers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """One HTTP request as the gateway received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    query: dict[str, str] = field(default_factory=dict)
    source_ip: str = "127.0.0.1"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or JSON).split(";")[0].strip().lower() or JSON


@dataclass(frozen=True)
class Route:
    """Where a request landed: API, stage, resource and method as read from the embedded AWS."""

    api_id: str
    stage: str
    resource_id: str
    resource_path: str
    path_parameters: dict[str, str]
    method: dict[str, Any]
    stage_variables: dict[str, str]


class ApiGatewayView:
    """Reads the applied REST APIs from the embedded AWS (the one place that decodes its errors)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _not_found(self, error: Exception) -> bool:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        return code in ("NotFoundException", "404")

    def _pages(self, operation: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._client.get_paginator(operation).paginate(**kwargs):
            items += page.get("items", [])
        return items

    def api_ids(self) -> list[str]:
        return [api["id"] for api in self._pages("get_rest_apis")]

    def stage(self, api_id: str, stage: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._client.get_stage(restApiId=api_id, stageName=stage)
        except ClientError as error:
            if self._not_found(error):
                return None
            raise
        return found

    def resources(self, api_id: str) -> list[dict[str, Any]]:
        return self._pages("get_resources", restApiId=api_id)

    def method(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any]:
        found: dict[str, Any] = self._client.get_method(
            restApiId=api_id, resourceId=resource_id, httpMethod=http_method
        )
        return found

    def integration(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._client.get_integration(
                restApiId=api_id, resourceId=resource_id, httpMethod=http_method
            )
        except ClientError as error:
            if self._not_found(error):
                return None
            raise
        return found

    def integration_response(self, api_id: str, resource_id: str, http_method: str, status: str) -> dict[str, Any]:
        found: dict[str, Any] = self._client.get_integration_response(
            restApiId=api_id, resourceId=resource_id, httpMethod=http_method, statusCode=status
        )
        return found

    def request_validator(self, api_id: str, validator_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._client.get_request_validator(restApiId=api_id, requestValidatorId=validator_id)
        return found

    def model_schema(self, api_id: str, model_name: str) -> dict[str, Any]:
        model = self._client.get_model(restApiId=api_id, modelName=model_name)
        schema: dict[str, Any] = json.loads(model.get("schema") or "{}")
        return schema

    def gateway_responses(self, api_id: str) -> dict[str, dict[str, Any]]:
        return {item["responseType"]: item for item in self._pages("get_gateway_responses", restApiId=api_id)}

    def valid_api_key(self, api_id: str, stage: str, value: str) -> dict[str, Any] | None:
        """The enabled API key with this value in a usage plan attached to ``api_id``/``stage``, if any."""
        keys = {
            key["id"]: key
            for key in self._pages("get_api_keys", includeValues=True)
            if key.get("value") == value and key.get("enabled")
        }
        if not keys:
            return None
        for plan in self._pages("get_usage_plans"):
            attached = any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.get("apiStages", []))
            if not attached:
                continue
            for plan_key in self._pages("get_usage_plan_keys", usagePlanId=plan["id"]):
                if plan_key["id"] in keys:
                    return keys[plan_key["id"]]
        return None


def match_path(template: str, path: str) -> dict[str, str] | None:
    """Path parameters when ``path`` matches a resource path ``template`` (``/a/{id}``), else None."""
    wanted = [part for part in template.split("/") if part]
    given = [part for part in path.split("/") if part]
    if wanted and wanted[-1].endswith("+}"):
        if len(given) < len(wanted):
            return None
        given = [*given[: len(wanted) - 1], "/".join(given[len(wanted) - 1 :])]
    if len(wanted) != len(given):
        return None
    params: dict[str, str] = {}
    for pattern, part in zip(wanted, given, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            params[pattern[1:-1].rstrip("+")] = part
        elif pattern != part:
            return None
    return params


def signature_problem(authorization: str, has_date: bool, region: str) -> tuple[str, str] | None:
    """Why ``authorization`` is not a complete SigV4 signature for ``execute-api`` in ``region``, as API Gateway
    words it: ``(response type, message)``; None when its form is right (its value is not checked)."""
    algorithm, _, rest = authorization.strip().partition(" ")
    parts: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        parts[name] = value
    missing = [part for part in SIGV4_PARTS if not parts.get(part)]
    if algorithm != SIGV4_ALGORITHM:
        return "INCOMPLETE_SIGNATURE", f"Unsupported authorization algorithm {algorithm!r}"
    if missing:
        return "INCOMPLETE_SIGNATURE", f"Authorization header requires {', '.join(map(repr, missing))} parameter(s)"
    if not has_date:
        return (
            "INCOMPLETE_SIGNATURE",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header",
        )
    # <access key>/<yyyymmdd>/<region>/<service>/aws4_request
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return "INCOMPLETE_SIGNATURE", "Credential should be of the form <key>/<date>/<region>/<service>/aws4_request"
    if scope[3] != SIGNED_SERVICE:
        return "INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{SIGNED_SERVICE}'."
    if scope[2] != region:
        return "INVALID_SIGNATURE", "Credential should be scoped to a valid region."
    return None


def validation_errors(schema: Mapping[str, Any], body: str) -> list[str]:
    """Why ``body`` fails the draft-04 ``schema`` (empty when valid), one message per failure."""
    try:
        document = json.loads(body) if body.strip() else None
    except json.JSONDecodeError as error:
        return [f"Invalid JSON in request body: {error}"]
    validator = Draft4Validator(schema)
    found = sorted(validator.iter_errors(document), key=lambda failure: [str(part) for part in failure.absolute_path])
    messages = []
    for failure in found:
        where = "/" + "/".join(str(part) for part in failure.absolute_path)
        messages.append(f"instance {where}: {failure.message}" if failure.absolute_path else failure.message)
    return messages


def select_integration_response(responses: Mapping[str, Mapping[str, Any]], status: int) -> str | None:
    """The status code key of the integration response for ``status``: a matching pattern, else the default."""
    default = None
    for key, response in responses.items():
        pattern = response.get("selectionPattern")
        if not pattern:
            default = key
        elif re.fullmatch(pattern, str(status)):
            return key
    return default


def static_headers(parameters: Mapping[str, str], prefix: str) -> dict[str, str]:
    """Headers whose mapping is a static value (``'text'``); others are not evaluated here."""
    headers = {}
    for name, value in parameters.items():
        if name.startswith(prefix) and len(value) >= 2 and value[0] == value[-1] == "'":
            headers[name[len(prefix) :]] = value[1:-1]
    return headers


class RestApiExecutor:
    """Runs one request through the REST API as applied in the embedded AWS (see the module docstring)."""

    def __init__(self, apigateway: Any, events: Any, region: str) -> None:
        self.view = ApiGatewayView(apigateway)
        self._events = events
        self.region = region

    # -- the request path -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        stage, _, rest = request.path.lstrip("/").partition("/")
        context = self._context(request, stage)
        api_ids = [request.header("x-apigw-api-id")] if request.header("x-apigw-api-id") else self.view.api_ids()
        staged = [(api_id, found) for api_id in api_ids if api_id and (found := self.view.stage(api_id, stage))]
        route = self._route(staged, stage, request.method, "/" + rest)
        if route is None:
            api_id = staged[0][0] if staged else None
            return self.gateway_error(api_id, "MISSING_AUTHENTICATION_TOKEN", context)
        context.update(
            apiId=route.api_id,
            resourceId=route.resource_id,
            resourcePath=route.resource_path,
        )
        denied = self._authorize(route, request, context)
        if denied is not None:
            return denied
        invalid = self._validate(route, request, context)
        if invalid is not None:
            return invalid
        return self._integrate(route, request, context)

    def _route(self, staged: list[tuple[str, dict[str, Any]]], stage: str, method: str, path: str) -> Route | None:
        for api_id, stage_info in staged:
            candidates = []
            for resource in self.view.resources(api_id):
                params = match_path(resource["path"], path)
                methods = resource.get("resourceMethods") or {}
                http_method = method if method in methods else "ANY" if "ANY" in methods else None
                if params is not None and http_method is not None:
                    candidates.append((len(params), resource, params, http_method))
            if not candidates:
                continue
            # as in API Gateway, a literal segment wins over a {parameter}
            _, resource, params, http_method = min(candidates, key=lambda candidate: candidate[0])
            return Route(
                api_id=api_id,
                stage=stage,
                resource_id=resource["id"],
                resource_path=resource["path"],
                path_parameters=params,
                method=self.view.method(api_id, resource["id"], http_method),
                stage_variables=dict(stage_info.get("variables") or {}),
            )
        return None

    def _authorize(self, route: Route, request: Request, context: dict[str, Any]) -> Reply | None:
        authorization = route.method.get("authorizationType", "NONE")
        if authorization == "AWS_IAM":
            header = request.header("authorization")
            if not header:
                return self.gateway_error(route.api_id, "MISSING_AUTHENTICATION_TOKEN", context)
            has_date = bool(request.header("x-amz-date") or request.header("date"))
            problem = signature_problem(header, has_date, self.region)
            if problem is not None:
                response_type, message = problem
                return self.gateway_error(route.api_id, response_type, context, message=message)
        elif authorization != "NONE":
            log.warning("local mode does not run %s authorizers", authorization)
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        if route.method.get("apiKeyRequired"):
            value = request.header("x-api-key")
            key = self.view.valid_api_key(route.api_id, route.stage, value) if value else None
            if key is None:
                return self.gateway_error(route.api_id, "INVALID_API_KEY", context)
            context["identity"].update(apiKey=value, apiKeyId=key["id"])
        return None

    def _validate(self, route: Route, request: Request, context: dict[str, Any]) -> Reply | None:
        validator_id = route.method.get("requestValidatorId")
        if not validator_id or not self.view.request_validator(route.api_id, validator_id).get("validateRequestBody"):
            return None
        models = route.method.get("requestModels") or {}
        model = models.get(request.content_type) or models.get("$default")
        if not model or model == "Empty":
            return None
        try:
            errors = validation_errors(self.view.model_schema(route.api_id, model), request.body)
        except (SchemaError, json.JSONDecodeError):
            log.exception("model %s of API %s is not a valid JSON Schema", model, route.api_id)
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        if not errors:
            return None
        return self.gateway_error(route.api_id, "BAD_REQUEST_BODY", context, validation=errors)

    def _integrate(self, route: Route, request: Request, context: dict[str, Any]) -> Reply:
        http_method = route.method["httpMethod"]
        integration = self.view.integration(route.api_id, route.resource_id, http_method)
        if integration is None:
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        templates = integration.get("requestTemplates") or {}
        template = templates.get(request.content_type)
        passthrough = integration.get("passthroughBehavior", "WHEN_NO_MATCH")
        if template is None and (passthrough == "NEVER" or (passthrough == "WHEN_NO_TEMPLATES" and templates)):
            return self.gateway_error(route.api_id, "UNSUPPORTED_MEDIA_TYPE", context)
        params = {"path": route.path_parameters, "querystring": request.query, "header": request.headers}
        try:
            rendered = (
                request.body
                if template is None
                else render(
                    template, request.body, context=context, params=params, stage_variables=route.stage_variables
                ).body
            )
        except VtlError:
            log.exception("request template of %s %s failed", http_method, route.resource_path)
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        status, answer = self._call(integration, rendered)
        if status is None:
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        return self._respond(route, integration, status, answer, context, params=params)

    def _call(self, integration: Mapping[str, Any], rendered: str) -> tuple[int | None, str]:
        kind, uri = integration.get("type"), integration.get("uri", "")
        if kind == "MOCK":
            try:
                status = int(json.loads(rendered or "{}").get("statusCode", 200))
            except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
                status = 500
            return status, ""
        if kind == "AWS" and PUT_EVENTS_URI.fullmatch(uri):
            return self._put_events(rendered)
        log.warning("local mode does not execute %s integrations to %s", kind, uri)
        return None, ""

    def _put_events(self, rendered: str) -> tuple[int, str]:
        """The PutEvents call the rendered request describes, answered as EventBridge's JSON protocol would."""
        try:
            request = json.loads(rendered)
        except json.JSONDecodeError as error:
            return 400, json.dumps({"__type": "SerializationException", "message": str(error)})
        if not isinstance(request, dict):
            return 400, json.dumps({"__type": "SerializationException", "message": "expected a JSON object"})
        try:
            answer = self._events.put_events(**request)
        except ParamValidationError as error:  # botocore refuses a malformed request before sending it
            return 400, json.dumps({"__type": "ValidationException", "message": str(error)})
        except ClientError as error:
            details = error.response.get("Error", {})
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return status, json.dumps({"__type": details.get("Code", ""), "message": details.get("Message", "")})
        answer.pop("ResponseMetadata", None)
        return 200, json.dumps(answer)

    def _respond(
        self,
        route: Route,
        integration: Mapping[str, Any],
        status: int,
        answer: str,
        context: dict[str, Any],
        *,
        params: Mapping[str, Mapping[str, str]],
    ) -> Reply:
        http_method = route.method["httpMethod"]
        selected = select_integration_response(integration.get("integrationResponses") or {}, status)
        if selected is None:
            log.warning("no integration response of %s %s for status %s", http_method, route.resource_path, status)
            return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
        response = self.view.integration_response(route.api_id, route.resource_id, http_method, selected)
        template = (response.get("responseTemplates") or {}).get(JSON)
        context["integration"] = {"status": status}
        headers = static_headers(response.get("responseParameters") or {}, "method.response.header.")
        body, reply_status = answer, int(response["statusCode"])
        if template is not None:
            try:
                # ``$input`` is the integration's answer; its params are still the method request's
                rendered = render(
                    template, answer, context=context, params=params, stage_variables=route.stage_variables
                )
            except VtlError:
                log.exception("response template of %s %s failed", http_method, route.resource_path)
                return self.gateway_error(route.api_id, "API_CONFIGURATION_ERROR", context)
            body = rendered.body
            reply_status = int(rendered.overrides.get("status", reply_status))
            headers.update({str(k): str(v) for k, v in (rendered.overrides.get("header") or {}).items()})
        return Reply(reply_status, body, {"Content-Type": JSON, **headers, "x-amzn-RequestId": context["requestId"]})

    # -- gateway responses ----------------------------------------------------------------------------
    def gateway_error(
        self,
        api_id: str | None,
        response_type: str,
        context: dict[str, Any],
        *,
        message: str | None = None,
        validation: list[str] | None = None,
    ) -> Reply:
        """API Gateway's own answer of ``response_type``, through the API's gateway responses."""
        known = GATEWAY_ERRORS[response_type]
        responses = self.view.gateway_responses(api_id) if api_id else {}
        fallback = "DEFAULT_4XX" if known.status < 500 else "DEFAULT_5XX"
        configured = responses.get(response_type) or responses.get(fallback) or {}
        status = int(configured.get("statusCode") or known.status)
        template = (configured.get("responseTemplates") or {}).get(JSON, DEFAULT_GATEWAY_TEMPLATE)
        text = message or known.message
        errors = "[" + ", ".join(validation or []) + "]" if validation else ""
        context = {
            **context,
            "error": {
                "message": text,
                "messageString": json.dumps(text),
                "responseType": response_type,
                # what API Gateway substitutes is already escaped for a JSON string
                "validationErrorString": json.dumps(errors)[1:-1],
            },
        }
        try:
            body = render(template, "", context=context).body
        except VtlError:
            log.exception("gateway response %s of API %s failed", response_type, api_id)
            body = json.dumps({"message": text})
        headers = static_headers(configured.get("responseParameters") or {}, "gatewayresponse.header.")
        request_id = str(context.get("requestId", ""))
        return Reply(
            status,
            body,
            {"Content-Type": JSON, **headers, "x-amzn-ErrorType": known.error_type, "x-amzn-RequestId": request_id},
        )

    def _context(self, request: Request, stage: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "requestId": request.request_id,
            "extendedRequestId": request.request_id,
            "accountId": "",
            "apiId": "",
            "httpMethod": request.method,
            "path": request.path,
            "stage": stage,
            "protocol": "HTTP/1.1",
            "domainName": request.header("host") or "",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
                "apiKey": "",
                "apiKeyId": "",
            },
        }


class LocalGateway:
    """The producers' REST API on ``http://<host>:<port>``: ``POST <url>/<stage>/<path>`` as API Gateway would.

    Reads the API from the embedded AWS at ``moto_url`` on every request (see the module docstring).
    ``port=0`` picks a free port; :attr:`url` tells which once started. Setting :attr:`executor` before
    :meth:`start` serves through other clients (tests give it in-process moto clients).
    """

    def __init__(self, moto_url: str, region: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.moto_url = moto_url
        self.region = region
        self.host = host
        self.port = port
        self.executor: RestApiExecutor | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen and serve in a background thread; returns once the port is bound."""
        if self._server is not None:
            return
        if self.executor is None:
            clients = AwsClients(self.moto_url, self.region)
            # built here, on one thread: creating boto3 clients is not thread-safe, using them is
            self.executor = RestApiExecutor(clients.client("apigateway"), clients.client("events"), self.region)
        server = ThreadingHTTPServer((self.host, self.port), _handler_class(self.executor))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        log.info("local gateway on %s", self.url)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


def _handler_class(executor: RestApiExecutor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local-api-gateway"

        def _serve(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                headers=dict(self.headers.items()),
                body=body,
                query=dict(parse_qsl(parts.query)),
                source_ip=self.client_address[0],
            )
            try:
                reply = executor.handle(request)
            except Exception:
                log.exception("local gateway failed on %s %s", self.command, parts.path)
                reply = Reply(500, '{"message": "Internal server error"}', {"Content-Type": JSON})
            payload = reply.body.encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            elapsed = (time.monotonic() - started) * 1e3
            log.debug("%s %s -> %d (%.0f ms)", self.command, parts.path, reply.status, elapsed)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("local gateway: " + format, *args)

    return Handler
