"""ARN fields, and where a rule on the broker's bus can deliver: shared by the portal and the stacks."""

from __future__ import annotations

from broker_contract.models import ConsumerDeployment, HttpsConsumer, LambdaConsumer

#: the service principal of EventBridge (rule targets, queue and key policies that let it deliver)
EVENTS_PRINCIPAL = "events.amazonaws.com"


def arn_account(arn: str) -> str:
    """The account id field of an ARN."""
    return arn.split(":")[4]


def arn_region(arn: str) -> str:
    """The region field of an ARN."""
    return arn.split(":")[3]


def arn_partition(arn: str) -> str:
    """The partition field of an ARN (``aws``, ``aws-cn`` ...)."""
    return arn.split(":")[1]


def delivery_problems(deployment: ConsumerDeployment, region: str) -> list[str]:
    """Why a rule on the broker's bus in ``region`` could not deliver this subscription; empty when it can.

    A rule delivers to functions and queues of its own region only (other accounts are fine, with the
    owner's permission): a target elsewhere would only fail at ``terraform apply``. The portal can
    refuse such a subscription with these messages, which name the field and the rule.
    """
    consumer = deployment.consumer
    if isinstance(consumer, HttpsConsumer):
        return []
    target_region = arn_region(consumer.connection_string)
    if target_region == region:
        return []
    kind = "function" if isinstance(consumer, LambdaConsumer) else "queue"
    return [
        f"consumer.connection_string: the {kind} must be in the broker's region {region} "
        f"(EventBridge rules deliver to functions and queues of their own region only), not {target_region}"
    ]
