"""Every derived name is injective: two different event versions or subscriptions never share a resource name.

Property tests (hypothesis): identifiers are drawn from few letters, digits and both separators so that
near-identical names (``order-created``, ``order_created``, ``order-1``, ``order1``) meet often.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from broker_contract import names
from broker_contract.names import MODEL_ESCAPE, BrokerNames, is_identifier, model_token

#: AWS namespaces several name kinds share; any other property is its own namespace
SHARED_NAMESPACES = {
    "queue": "sqs-queue",
    "dead_letter_queue": "sqs-queue",
    "generator_queue": "sqs-queue",
    "generator_dead_letter_queue": "sqs-queue",
    "pipe_role": "iam-role",
    "target_role": "iam-role",
    "generator_role": "iam-role",
    "portal_role": "iam-role",
    "apigateway_events_role": "iam-role",
    "apigateway_cloudwatch_role": "iam-role",
    "stack": "stack",
    "component_id": "component",
    "state_key": "state-key",
}


def _part(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=4)


@st.composite
def identifiers(draw: st.DrawFn) -> str:
    """Identifiers made of short parts over a tiny alphabet, joined by '-' or '_' (max 48 characters)."""
    # a long stem now and then, so that names past AWS's limits (shortened with a hash) are drawn too
    first = draw(st.sampled_from("azv")) + draw(st.sampled_from(["", "l" * 36])) + draw(st.text("az19v", max_size=3))
    rest = draw(st.lists(st.tuples(st.sampled_from("-_"), _part("az19v")), max_size=6))
    value = first + "".join(separator + part for separator, part in rest)
    value = value[: names.IDENTIFIER_MAX_LENGTH].rstrip("-_")
    assert is_identifier(value), value
    return value


@st.composite
def event_type_families(draw: st.DrawFn) -> list[str]:
    """Distinct identifiers, with look-alikes: each separator of a drawn one swapped or dropped."""
    found: list[str] = []
    for base in draw(st.lists(identifiers(), min_size=1, max_size=5)):
        found.append(base)
        twin = "".join(draw(st.sampled_from(["-", "_", ""])) if char in "-_" else char for char in base)
        found.append(twin)
    return sorted(set(found))


def read_model_token(token: str) -> str:
    """The inverse of ``model_token``: proof that no information is lost."""
    out = [token[0].lower()]
    index = 1
    while index < len(token):
        char = token[index]
        if char == MODEL_ESCAPE:
            following = token[index + 1]
            if following == "u":
                out.append("_" + token[index + 2])
                index += 3
                continue
            if following == "z":
                out.append("-z")
            elif following.isdigit():
                out.append("-" + following)
            else:
                out.append("_" + following.lower())
            index += 2
        elif char.isupper():
            out.append("-" + char.lower())
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _names_of(owner: object) -> dict[str, str]:
    kind = type(owner)
    return {
        attribute: str(getattr(owner, attribute))
        for attribute in dir(kind)
        if isinstance(getattr(kind, attribute), property) and attribute not in {"environment"}
    }


def test_hyphen_and_underscore_give_different_models() -> None:
    broker = BrokerNames("dev", "eu-west-1", "123456789012")
    assert broker.producer("order-created", 1).request_model == "OrderCreatedV1Envelope"
    assert broker.producer("order_created", 1).request_model == "OrderZCreatedV1Envelope"
    assert broker.producer("order-1", 1).request_model != broker.producer("order1", 1).request_model


@given(identifiers())
def test_model_token_reads_back(identifier: str) -> None:
    token = model_token(identifier)
    assert re.fullmatch(r"[A-Za-z0-9]+", token)
    assert read_model_token(token) == identifier


@settings(max_examples=300)
@given(
    event_type_families(),
    # few versions, so that look-alike event types often share one and only their names tell them apart
    st.lists(st.sampled_from([1, 2, 10, 9999]), min_size=1, max_size=2, unique=True),
    st.lists(st.text("0123456789abcdef", min_size=16, max_size=16), max_size=4, unique=True),
    st.sampled_from(["dev", "staging123"]),
)
def test_every_derived_name_is_injective(
    event_types: list[str], numbers: list[int], subscription_hex: list[str], environment: str
) -> None:
    broker = BrokerNames(environment, "eu-west-1", "123456789012")
    owners: dict[str, dict[str, str]] = {"broker": _names_of(broker)}
    for event_type, version in itertools.product(event_types, numbers):
        owner = f"producer {event_type} v{version}"
        owners[owner] = _names_of(broker.producer(event_type, version))
        owners[owner]["schema_backup_key"] = names.schema_backup_key(event_type, version)
    for value in subscription_hex:
        owners[f"consumer sub-{value}"] = _names_of(broker.consumer(f"sub-{value}"))
    claimed: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for owner, found in owners.items():
        for attribute, name in found.items():
            namespace = SHARED_NAMESPACES.get(attribute, attribute)
            claimed[(namespace, name)].add((owner, attribute))
    shared = {key: holders for key, holders in claimed.items() if len(holders) > 1}
    assert shared == {}
