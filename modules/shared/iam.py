"""IAM documents and the role an AWS service assumes, with its permissions as one inline policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

Statement = dict[str, Any]


def policy_document(statements: list[Statement]) -> dict[str, Any]:
    """An IAM policy document holding ``statements``."""
    return {"Version": "2012-10-17", "Statement": statements}


def assume_role_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """Trust policy letting ``service`` assume the role (optionally only on behalf of our account)."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document([statement])


def account_trust_policy(accounts: list[str], partition: str = "aws") -> dict[str, Any]:
    """Trust policy letting principals of ``accounts`` assume the role (each account delegates further in IAM)."""
    principals = [f"arn:{partition}:iam::{account}:root" for account in accounts]
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                "Action": "sts:AssumeRole",
            }
        ]
    )


@dataclass(frozen=True)
class RoleConfig:
    """A role trusted per ``trust_policy``; ``statements`` become its inline policy ``policy_name``.

    ``permissions_boundary`` (a managed policy ARN) caps what the role can ever do, whatever its
    inline policy says: every role the generator creates must carry the broker's boundary.
    """

    name: str
    description: str
    trust_policy: dict[str, Any] = field(hash=False)
    policy_name: str
    statements: list[Statement] = field(default_factory=list, hash=False)
    permissions_boundary: str | None = None


def role_with_policy(scope: Construct, construct_id: str, config: RoleConfig) -> tuple[IamRole, IamRolePolicy]:
    """Add the role (id ``construct_id``) and its inline policy (id ``<construct_id>-policy``) to ``scope``."""
    role = IamRole(
        scope,
        construct_id,
        name=config.name,
        description=config.description,
        assume_role_policy=json.dumps(config.trust_policy),
        permissions_boundary=config.permissions_boundary,
    )
    policy = IamRolePolicy(
        scope,
        f"{construct_id}-policy",
        name=config.policy_name,
        role=role.id,
        policy=json.dumps(policy_document(config.statements)),
    )
    return role, policy


@dataclass(frozen=True)
class ServiceRoleConfig:
    """A role ``service`` assumes; ``statements`` become its inline policy ``policy_name`` (see ``RoleConfig``)."""

    name: str
    service: str
    description: str
    policy_name: str
    statements: list[Statement] = field(default_factory=list)
    source_account: str | None = None
    permissions_boundary: str | None = None


def service_role(scope: Construct, construct_id: str, config: ServiceRoleConfig) -> tuple[IamRole, IamRolePolicy]:
    """Add the role (id ``construct_id``) and its inline policy (id ``<construct_id>-policy``) to ``scope``."""
    return role_with_policy(
        scope,
        construct_id,
        RoleConfig(
            name=config.name,
            description=config.description,
            trust_policy=assume_role_policy(config.service, config.source_account),
            policy_name=config.policy_name,
            statements=config.statements,
            permissions_boundary=config.permissions_boundary,
        ),
    )
