"""EventBridge's execution role for a function or queue in another account.

A rule delivers to a Lambda function or an SQS queue of another account only through a role of the
bus account, set as the target's ``role_arn``: EventBridge assumes it and invokes or sends as that
role, and the target's resource policy must grant the role (its owner adds the statement the
deployment's instructions give). Each subscription gets its own role, allowed exactly one action on
exactly its target, and capped by the broker's permissions boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.consumers.pattern import EVENTS_PRINCIPAL
from modules.shared.iam import ServiceRoleConfig, Statement, service_role


@dataclass(frozen=True)
class DeliveryRoleConfig:
    """The role's name, its one target, the bus account that may use it, and the boundary it carries."""

    name: str
    target_arn: str
    rule_name: str
    account_id: str
    permissions_boundary: str | None = None


def delivery_statements(target_arn: str) -> list[Statement]:
    """What the role may do: invoke the function, or send to the queue (and encrypt for it with its key).

    A queue encrypted with a customer managed key needs the sender to use that key; the grant is limited
    to keys of the queue's account, used through SQS in the queue's region (``kms:ViaService``).
    """
    _, partition, service, region, account, _ = target_arn.split(":", 5)
    if service == "lambda":
        return [
            {
                "Sid": "InvokeTargetFunction",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": target_arn,
            }
        ]
    return [
        {"Sid": "SendToTargetQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": target_arn},
        {
            "Sid": "UseTargetQueueKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        },
    ]


def delivery_role(scope: Construct, construct_id: str, config: DeliveryRoleConfig) -> tuple[IamRole, IamRolePolicy]:
    """Add the execution role (trusted by EventBridge of the bus account only) and its inline policy."""
    return service_role(
        scope,
        construct_id,
        ServiceRoleConfig(
            name=config.name,
            service=EVENTS_PRINCIPAL,
            description=f"EventBridge delivery of {config.rule_name} to {config.target_arn}",
            policy_name="deliver-to-target",
            statements=delivery_statements(config.target_arn),
            source_account=config.account_id,
            permissions_boundary=config.permissions_boundary,
        ),
    )
