"""HTTPS producer: ``POST /<event_type>/<version>`` on the broker's REST API, straight into the bus.

API Gateway validates the body against the envelope schema (a request model + validator), then a
direct AWS service integration calls EventBridge ``PutEvents``: no Lambda in the data path. The
``/<event_type>`` parent resource is shared by every version of the event type, so it is looked
up, not created; the stage is shared too, so this construct never creates a deployment or stage.

Every method uses ``AWS_IAM`` authorization, and each producer gets its own publisher role whose only
permission is ``execute-api:Invoke`` on its own method: a producer's credential publishes its own
event version and nothing else. API keys cannot give that isolation (a usage plan spans the whole
stage, and any key of any plan opens every key-protected method), so with ``auth="API_KEY"`` the key
is required in addition to the signature, only to throttle each producer by its usage plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_integration_response import ApiGatewayIntegrationResponse
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.data_aws_api_gateway_resource import DataAwsApiGatewayResource
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.shared.checkov import skip_check
from modules.shared.iam import RoleConfig, Statement, account_trust_policy, role_with_policy
from modules.shared.terraform import terraform_literal

JSON = "application/json"

#: Headers the PutEvents API expects; static values are single-quoted in API Gateway mappings.
PUT_EVENTS_REQUEST_PARAMETERS = {
    "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
    "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
}


def json_string_content(expression: str) -> str:
    """VTL writing ``expression`` (a String) as the content of a JSON string literal.

    ``$util.escapeJavaScript`` escapes quotes, backslashes, control characters and every non-ASCII
    character, but also single quotes as ``\\'``, which JSON does not allow: the ``replaceAll`` (a Java
    regex, backslash + quote) undoes exactly that one. An original backslash before a quote is safe:
    escapeJavaScript doubles it, so the quote's own backslash is always the last of an odd run.
    """
    return f"""$util.escapeJavaScript({expression}).replaceAll("\\\\'","'")"""


#: The request body as a JSON string: PutEvents wants ``Detail`` as a string holding JSON.
_DETAIL = json_string_content("$input.json('$')")

#: HTTP status for a producer who must slow down, as API Gateway itself answers when a usage plan throttles.
TOO_MANY_REQUESTS = 429

#: Default response (PutEvents answered 200). It still rejects entries one by one (``FailedEntryCount``):
#: a throttled entry becomes a 429 (retry later), any other failure a 500, both with the bus's reason.
SUCCESS_RESPONSE_TEMPLATE = "\n".join(
    [
        "#set($failed = $input.path('$.FailedEntryCount'))",
        "#if($failed > 0)",
        "#set($code = \"$!input.path('$.Entries[0].ErrorCode')\")",
        "#set($reason = \"$!input.path('$.Entries[0].ErrorMessage')\")",
        '#if($code.contains("Throttling"))',
        f"#set($context.responseOverride.status = {TOO_MANY_REQUESTS})",
        "#else",
        "#set($context.responseOverride.status = 500)",
        "#end",
        '{"error": "the event bus did not accept the event",',
        f' "code": "{json_string_content("$code")}",',
        f' "message": "{json_string_content("$reason")}"}}',
        "#else",
        """{"event_id": "$input.path('$.Entries[0].EventId')"}""",
        "#end",
    ]
)

#: EventBridge answered 400. Only a ``ValidationException`` (e.g. the event is too large) is the
#: producer's fault; throttling (also a 400 in the AWS JSON protocol) is a 429, anything else
#: (the broker's role denied, a bad signature ...) is the broker's fault: 500.
CLIENT_ERROR_TEMPLATE = "\n".join(
    [
        "#set($type = \"$!input.path('$.__type')\")",
        "#set($reason = \"$!input.path('$.message')\")",
        '#if($type.contains("Throttling"))',
        f"#set($context.responseOverride.status = {TOO_MANY_REQUESTS})",
        '{"error": "too many events for the event bus, retry later"}',
        '#elseif($type.contains("ValidationException"))',
        f'{{"error": "the event bus refused the event", "message": "{json_string_content("$reason")}"}}',
        "#else",
        "#set($context.responseOverride.status = 500)",
        '{"error": "the event bus is not available, retry later"}',
        "#end",
    ]
)
SERVER_ERROR_TEMPLATE = """{"error": "the event bus is not available, retry later"}"""

#: EventBridge status codes mapped to the producer's (matched against the whole status code):
#: 400 is refined by ``CLIENT_ERROR_TEMPLATE``, any other error is the broker's.
CLIENT_ERROR_PATTERN = "400"
SERVER_ERROR_PATTERN = r"(40[1-9]|4[1-9]\d|5\d{2})"

#: Every status the method may answer: 200, 400 (invalid envelope or refused event), 403 (no or
#: wrong API key, from API Gateway), 429, 500. The responses API Gateway itself gives need no entry.
METHOD_STATUS_CODES = ("200", "400", str(TOO_MANY_REQUESTS), "500")


def put_events_request_template(event_bus_name: str, source: str, detail_type: str) -> str:
    """VTL mapping the validated request body to one PutEvents entry whose Detail is the body."""
    return (
        "{\n"
        '  "Entries": [\n'
        "    {\n"
        f'      "EventBusName": {json.dumps(event_bus_name)},\n'
        f'      "Source": {json.dumps(source)},\n'
        f'      "DetailType": {json.dumps(detail_type)},\n'
        f'      "Detail": "{_DETAIL}"\n'
        "    }\n"
        "  ]\n"
        "}"
    )


def method_arn(*, partition: str, region: str, account_id: str, api_id: str, stage: str, path: str) -> str:
    """``execute-api`` ARN of ``POST <path>`` on ``stage``: what IAM authorizes a signed call against."""
    return f"arn:{partition}:execute-api:{region}:{account_id}:{api_id}/{stage}/POST{path}"


def publisher_statements(invoke_arn: str) -> list[Statement]:
    """The publisher role's whole permission: call one producer method."""
    return [
        {"Sid": "PublishOneEventVersion", "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": invoke_arn}
    ]


@dataclass(frozen=True)
class HttpsProducerConfig:
    """Where the endpoint goes and what it puts on the bus.

    ``parent_path`` (``/<event_type>``) must already exist on the API; ``path_part`` is the version.
    Callers sign with SigV4 as the publisher role ``publisher_role_name``, which principals of
    ``publisher_accounts`` may assume and which may invoke ``method_arn`` only (``POST`` of this
    resource on the stage). With ``auth="API_KEY"`` they also send the API key of this producer's
    usage plan, which throttles them; with ``auth="IAM"`` the stage's limits apply.
    """

    rest_api_id: str
    stage_name: str
    parent_path: str
    path_part: str
    model_name: str
    validator_name: str
    envelope_schema: dict[str, Any] = field(hash=False)
    event_bus_name: str
    source: str
    detail_type: str
    credentials_role_arn: str
    region: str
    usage_plan_name: str
    api_key_name: str
    publisher_role_name: str
    method_arn: str
    publisher_accounts: tuple[str, ...]
    permissions_boundary: str | None = None
    partition: str = "aws"
    auth: Literal["API_KEY", "IAM"] = "API_KEY"
    throttle_rate_per_second: int = 50
    throttle_burst: int = 100
    description: str = ""


class HttpsProducerEndpoint(Construct):
    """``POST <parent_path>/<path_part>``: validate the envelope, put it on the bus, answer its event id."""

    parent: DataAwsApiGatewayResource
    resource: ApiGatewayResource
    model: ApiGatewayModel
    validator: ApiGatewayRequestValidator
    method: ApiGatewayMethod
    integration: ApiGatewayIntegration
    method_responses: dict[str, ApiGatewayMethodResponse]
    integration_responses: dict[str, ApiGatewayIntegrationResponse]
    usage_plan: ApiGatewayUsagePlan | None
    api_key: ApiGatewayApiKey | None
    usage_plan_key: ApiGatewayUsagePlanKey | None
    publisher_role: IamRole
    publisher_role_policy: IamRolePolicy

    def __init__(self, scope: Construct, construct_id: str, config: HttpsProducerConfig) -> None:
        super().__init__(scope, construct_id)
        api = config.rest_api_id
        self.parent = DataAwsApiGatewayResource(self, "parent", rest_api_id=api, path=config.parent_path)
        self.resource = ApiGatewayResource(
            self, "resource", rest_api_id=api, parent_id=self.parent.id, path_part=config.path_part
        )
        self.model = ApiGatewayModel(
            self,
            "model",
            rest_api_id=api,
            name=config.model_name,
            content_type=JSON,
            description=f"Envelope of {config.detail_type}",
            # the schema is user text (descriptions, patterns ...): Terraform must not read it as a template
            schema=terraform_literal(json.dumps(config.envelope_schema, sort_keys=True)),
        )
        self.validator = ApiGatewayRequestValidator(
            self,
            "validator",
            rest_api_id=api,
            name=config.validator_name,
            validate_request_body=True,
            validate_request_parameters=False,
        )
        use_api_key = config.auth == "API_KEY"
        self.method = ApiGatewayMethod(
            self,
            "method",
            rest_api_id=api,
            resource_id=self.resource.id,
            http_method="POST",
            # the signature identifies the producer's role, which may invoke this method only
            authorization="AWS_IAM",
            api_key_required=use_api_key,
            request_models={JSON: self.model.name},
            request_validator_id=self.validator.id,
        )
        self.integration = ApiGatewayIntegration(
            self,
            "integration",
            rest_api_id=api,
            resource_id=self.resource.id,
            http_method=self.method.http_method,
            type="AWS",
            integration_http_method="POST",
            uri=f"arn:aws:apigateway:{config.region}:events:action/PutEvents",
            credentials=config.credentials_role_arn,
            request_parameters=dict(PUT_EVENTS_REQUEST_PARAMETERS),
            # anything but the JSON the model validated is refused, never passed to EventBridge as is
            passthrough_behavior="NEVER",
            request_templates={
                JSON: put_events_request_template(config.event_bus_name, config.source, config.detail_type)
            },
        )
        self.method_responses = {
            status: ApiGatewayMethodResponse(
                self,
                f"response-{status}",
                rest_api_id=api,
                resource_id=self.resource.id,
                http_method=self.method.http_method,
                status_code=status,
                response_models={JSON: "Empty"},
            )
            for status in METHOD_STATUS_CODES
        }
        responses: dict[str, tuple[str | None, str]] = {
            "200": (None, SUCCESS_RESPONSE_TEMPLATE),
            "400": (CLIENT_ERROR_PATTERN, CLIENT_ERROR_TEMPLATE),
            "500": (SERVER_ERROR_PATTERN, SERVER_ERROR_TEMPLATE),
        }
        self.integration_responses = {
            status: ApiGatewayIntegrationResponse(
                self,
                f"integration-response-{status}",
                rest_api_id=api,
                resource_id=self.resource.id,
                http_method=self.method.http_method,
                status_code=self.method_responses[status].status_code,
                selection_pattern=pattern,
                response_templates={JSON: template},
                # the integration must exist before API Gateway accepts its responses
                depends_on=[self.integration],
            )
            for status, (pattern, template) in responses.items()
        }
        self.publisher_role, self.publisher_role_policy = role_with_policy(
            self,
            "publisher-role",
            RoleConfig(
                name=config.publisher_role_name,
                description=f"Publishes {config.detail_type} to the event broker, and nothing else",
                trust_policy=account_trust_policy(list(config.publisher_accounts), config.partition),
                policy_name="publish-event-version",
                statements=publisher_statements(config.method_arn),
                permissions_boundary=config.permissions_boundary,
            ),
        )
        skip_check(
            self.publisher_role,
            "CKV_AWS_61",
            "the producer's accounts assume this role and delegate it with their own IAM; it may only invoke one "
            "method (inline policy) and the broker's permissions boundary caps it",
        )
        self.usage_plan = self.api_key = self.usage_plan_key = None
        if use_api_key:
            self.usage_plan = ApiGatewayUsagePlan(
                self,
                "usage-plan",
                name=config.usage_plan_name,
                description=f"Producer of {config.detail_type}",
                api_stages=[ApiGatewayUsagePlanApiStages(api_id=api, stage=config.stage_name)],
                throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                    rate_limit=config.throttle_rate_per_second, burst_limit=config.throttle_burst
                ),
            )
            self.api_key = ApiGatewayApiKey(
                self,
                "api-key",
                name=config.api_key_name,
                description=f"Producer of {config.detail_type}",
                enabled=True,
            )
            self.usage_plan_key = ApiGatewayUsagePlanKey(
                self, "usage-plan-key", key_id=self.api_key.id, key_type="API_KEY", usage_plan_id=self.usage_plan.id
            )
