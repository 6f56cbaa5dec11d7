"""What the generator does around ``terraform apply``/``destroy`` of one component: ``ComponentHooks``.

The stack modules say which hooks their stack needs (``producer.producer_hooks``, ``consumer.consumer_hooks``,
chosen by ``dispatch.component_hooks``); the generator carries them out. Pure data, importing neither cdktf
nor the stacks, so the generator's service can name the type without loading jsii.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broker_contract.models import HttpsAuth


@dataclass(frozen=True)
class SharedQueueStatement:
    """The broker's one statement in a target queue's policy, shared by every subscription rule on the queue.

    ``rule_prefix``: names of the broker's subscription rules; the statement stays while one of them
    targets the queue.
    """

    queue_arn: str
    statement: dict[str, Any] = field(hash=False)
    rule_prefix: str


@dataclass(frozen=True)
class ComponentHooks:
    """What must happen around ``terraform apply``/``destroy`` of one component, beyond what Terraform does.

    - ``parent_resource_path``: ensure this API resource exists before apply and destroy (the stack
      looks it up; it is shared by every version of the event type).
    - ``redeploy_api_stage``: after apply or destroy, create a new deployment of the shared stage so
      the change reaches producers.
    - ``connection_name`` + ``auth``: after apply, read the secret ``auth.secret_arn`` and update the
      connection's auth parameters with it (the stack holds placeholders only, so secrets never reach the
      deployment file or the Terraform state); then enable ``rule_to_enable`` (the stack creates it
      disabled, so nothing is sent with the placeholders).
    - ``shared_queue_policy``: the broker's one statement in the policy of a queue of the broker's
      account, letting every subscription rule send. The generator adds it after apply if missing, and
      after destroy removes it (by its ``Sid``) only when no rule of the broker targets the queue any
      more; other statements are never touched.
    - ``check_queue_encryption``: before apply, the generator checks how this queue (broker's account)
      is encrypted: the AWS managed key fails the deployment, a customer managed key must grant EventBridge.
    - ``instructions``: for the catalog record, what the owner of a queue or function the broker may not
      change must add, or how a producer publishes.
    """

    parent_resource_path: str | None = None
    redeploy_api_stage: bool = False
    connection_name: str | None = None
    auth: HttpsAuth | None = None
    rule_to_enable: str | None = None
    shared_queue_policy: SharedQueueStatement | None = None
    check_queue_encryption: str | None = None
    instructions: str | None = None
