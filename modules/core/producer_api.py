"""The producers' REST API: one stage shared by every producer, each adding its own method later.

The core stack creates the API with a single ``GET /health`` MOCK method (API Gateway refuses to
deploy an API without methods) and a first deployment. Producer stacks add ``POST
/<event_type>/<version>`` methods; after each producer apply the generator creates a new
deployment of the stage, which snapshots *all* current methods. The stage therefore ignores
changes to ``deployment_id``: otherwise every core apply would roll the stage back to the health-only
deployment and take every producer endpoint offline.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_integration_response import ApiGatewayIntegrationResponse
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_response import ApiGatewayMethodResponse
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi, ApiGatewayRestApiEndpointConfiguration
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from modules.shared.checkov import skip_check

JSON = "application/json"

#: one JSON line per request in the access log
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationStatus": "$context.integration.status",
        "integrationError": "$context.integration.error",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)

#: a body failing the producer's model names what is wrong instead of a bare "Invalid request body"
BAD_REQUEST_BODY_TEMPLATE = (
    '{"message": $context.error.messageString, '
    '"errors": "$context.error.validationErrorString", '
    '"requestId": "$context.requestId"}'
)
DEFAULT_ERROR_TEMPLATE = '{"message": $context.error.messageString, "requestId": "$context.requestId"}'
HEALTH_RESPONSE = '{"status": "ok"}'


@dataclass(frozen=True)
class ProducerApiConfig:
    """Names and limits of the producers' API.

    ``logging_level`` is ``INFO``, ``ERROR`` or ``OFF`` (execution logs); access logs are always on.
    ``stage_depends_on`` should hold the ``aws_api_gateway_account`` resource: a stage cannot log
    before the account's CloudWatch role is set.
    """

    name: str
    stage_name: str
    log_group_name: str
    log_retention_days: int
    kms_key_arn: str
    throttling_burst_limit: int
    throttling_rate_limit: float
    logging_level: str = "INFO"
    stage_depends_on: tuple[ITerraformDependable, ...] = ()


class ProducerApi(Construct):
    """A REGIONAL REST API with a logged, traced, throttled stage and JSON error responses."""

    api: ApiGatewayRestApi
    stage: ApiGatewayStage
    deployment: ApiGatewayDeployment
    log_group: CloudwatchLogGroup

    def __init__(self, scope: Construct, construct_id: str, config: ProducerApiConfig) -> None:
        super().__init__(scope, construct_id)
        self.api = ApiGatewayRestApi(
            self,
            "api",
            name=config.name,
            description="Producers publish events here: POST /<event_type>/<version>",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.log_group = CloudwatchLogGroup(
            self,
            "access-logs",
            name=config.log_group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=config.kms_key_arn,
        )
        health = ApiGatewayResource(
            self, "health", rest_api_id=self.api.id, parent_id=self.api.root_resource_id, path_part="health"
        )
        method = ApiGatewayMethod(
            self,
            "health-get",
            rest_api_id=self.api.id,
            resource_id=health.id,
            http_method="GET",
            authorization="NONE",
        )
        skip_check(
            method,
            "CKV_AWS_59",
            "GET /health is a MOCK answering a constant 200; it reaches no backend and reveals nothing",
        )
        skip_check(
            method,
            "CKV2_AWS_53",
            "GET /health takes no input to validate; producer methods carry their own body validators",
        )
        request_template = {JSON: '{"statusCode": 200}'}
        integration = ApiGatewayIntegration(
            self,
            "health-integration",
            rest_api_id=self.api.id,
            resource_id=health.id,
            http_method=method.http_method,
            type="MOCK",
            request_templates=request_template,
        )
        method_response = ApiGatewayMethodResponse(
            self,
            "health-200",
            rest_api_id=self.api.id,
            resource_id=health.id,
            http_method=method.http_method,
            status_code="200",
            response_models={JSON: "Empty"},
        )
        integration_response = ApiGatewayIntegrationResponse(
            self,
            "health-integration-200",
            rest_api_id=self.api.id,
            resource_id=health.id,
            http_method=method.http_method,
            status_code=method_response.status_code,
            response_templates={JSON: HEALTH_RESPONSE},
            depends_on=[integration],
        )
        fingerprint = hashlib.sha256(json.dumps([request_template, HEALTH_RESPONSE]).encode()).hexdigest()
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.api.id,
            description="core deployment (GET /health); the generator deploys producer methods",
            triggers={"health": fingerprint},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=[method, integration, method_response, integration_response],
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.api.id,
            stage_name=config.stage_name,
            deployment_id=self.deployment.id,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            # the generator owns later deployments of this stage (see the module docstring)
            lifecycle=TerraformResourceLifecycle(ignore_changes=["deployment_id"]),
            depends_on=list(config.stage_depends_on),
        )
        skip_check(
            self.stage,
            "CKV_AWS_120",
            "producers POST events: every request must reach EventBridge, so responses are never cached",
        )
        skip_check(
            self.stage,
            "CKV2_AWS_51",
            "producers authenticate with API keys over TLS; client certificates authenticate API Gateway to "
            "HTTP backends, and this API's only backend is EventBridge through an AWS integration",
        )
        skip_check(
            self.stage,
            "CKV2_AWS_29",
            "WAF is an account-level choice with its own cost; producers are throttled per stage and per usage plan",
        )
        settings = ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level=config.logging_level,
                data_trace_enabled=False,
                throttling_burst_limit=config.throttling_burst_limit,
                throttling_rate_limit=config.throttling_rate_limit,
                caching_enabled=False,
                cache_data_encrypted=True,
            ),
        )
        skip_check(
            settings,
            "CKV_AWS_225",
            "producers POST events: every request must reach EventBridge, so responses are never cached",
        )
        ApiGatewayGatewayResponse(
            self,
            "bad-request-body",
            rest_api_id=self.api.id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={JSON: BAD_REQUEST_BODY_TEMPLATE},
        )
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            ApiGatewayGatewayResponse(
                self,
                response_type.lower().replace("_", "-"),
                rest_api_id=self.api.id,
                response_type=response_type,
                response_templates={JSON: DEFAULT_ERROR_TEMPLATE},
            )
