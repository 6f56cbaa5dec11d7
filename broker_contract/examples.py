"""Example deployment files, one of each kind, exported next to the JSON Schemas."""

from __future__ import annotations

from datetime import UTC, datetime

from broker_contract.models import (
    AnyDeployment,
    ApiKeyAuth,
    ConsumerDeployment,
    DeploymentAction,
    EventVersionRef,
    HttpsConsumer,
    HttpsProducer,
    LambdaConsumer,
    ProducerDeployment,
    SqsConsumer,
    SqsProducer,
)
from broker_contract.schemas import envelope_schema

_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

ORDER_CREATED_DATA = {
    "type": "object",
    "required": ["order_id", "amount"],
    "properties": {
        "order_id": {"type": "string", "minLength": 1},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
    },
}

_ORDER = EventVersionRef(application="shop", event_type="order-created", version=1)
_PAYMENT = EventVersionRef(application="payments", event_type="payment-settled", version=2)
_PAYMENT_DATA = {
    "type": "object",
    "required": ["payment_id"],
    "properties": {"payment_id": {"type": "string"}, "status": {"type": "string"}},
}


def examples() -> dict[str, AnyDeployment]:
    """Example files by name: ``producer-https``, ``producer-sqs``, ``consumer-lambda`` ..."""
    common = {"environment": "dev", "requested_at": _AT, "action": DeploymentAction.DEPLOY, "sequence": 1}
    return {
        "producer-https": ProducerDeployment(
            deployment_id="dep-0000000000000001",
            requested_by="shop-team",
            event=_ORDER,
            description="An order was placed in the web shop.",
            producer=HttpsProducer(),
            envelope_schema=envelope_schema(ORDER_CREATED_DATA, _ORDER.event_type, _ORDER.version),
            **common,
        ),
        "producer-sqs": ProducerDeployment(
            deployment_id="dep-0000000000000002",
            requested_by="payments-team",
            event=_PAYMENT,
            producer=SqsProducer(),
            envelope_schema=envelope_schema(_PAYMENT_DATA, _PAYMENT.event_type, _PAYMENT.version),
            **common,
        ),
        "consumer-lambda": ConsumerDeployment(
            deployment_id="dep-0000000000000003",
            requested_by="billing-team",
            subscription_id="sub-00000000000000a1",
            event=_ORDER,
            target_unit="billing",
            consumer=LambdaConsumer(connection_string="arn:aws:lambda:eu-west-1:111122223333:function:bill-order"),
            content_filter={"currency": ["EUR"]},
            **common,
        ),
        "consumer-sqs": ConsumerDeployment(
            deployment_id="dep-0000000000000004",
            requested_by="warehouse-team",
            subscription_id="sub-00000000000000a2",
            event=_ORDER,
            target_unit="warehouse",
            consumer=SqsConsumer(connection_string="arn:aws:sqs:eu-west-1:111122223333:warehouse-orders"),
            **common,
        ),
        "consumer-https": ConsumerDeployment(
            deployment_id="dep-0000000000000005",
            requested_by="crm-team",
            subscription_id="sub-00000000000000a3",
            event=_PAYMENT,
            target_unit="crm",
            consumer=HttpsConsumer(
                connection_string="https://crm.example.com/hooks/payments",
                auth=ApiKeyAuth(  # a reference to the secret, not a secret
                    secret_arn="arn:aws:secretsmanager:eu-west-1:111122223333:secret:crm-hook-key-AbCdEf"  # noqa: S106
                ),
            ),
            **common,
        ),
    }
