"""What a generated stack contains, in a few lines (the walk-through prints it).

Pure functions over the Terraform JSON the portal returns (``GET /deployments/{id}/terraform``), so the
walk-through and the e2e test read the same facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def resources(stack: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """``{logical name: arguments}`` of every resource of ``kind``."""
    found: dict[str, dict[str, Any]] = stack.get("resource", {}).get(kind, {})
    return found


def terraform_document(body: Any) -> dict[str, Any]:
    """The Terraform JSON inside a ``/terraform`` answer (the document itself, or wrapped under a key)."""
    if isinstance(body, dict):
        if "resource" in body:
            return body
        for key in ("terraform", "stack", "document", "content"):
            inner = body.get(key)
            if isinstance(inner, str):
                try:
                    inner = json.loads(inner)
                except json.JSONDecodeError:
                    continue
            if isinstance(inner, dict) and "resource" in inner:
                return inner
    raise ValueError("the answer holds no Terraform JSON document")


@dataclass(frozen=True)
class Rule:
    """One EventBridge rule of a consumer stack and where it sends events."""

    name: str
    pattern: dict[str, Any]
    targets: list[str]


def rules(stack: Mapping[str, Any]) -> list[Rule]:
    """Rules with their patterns and the ARNs (or references) of their targets."""
    targets_by_rule: dict[str, list[str]] = {}
    for target in resources(stack, "aws_cloudwatch_event_target").values():
        targets_by_rule.setdefault(str(target.get("rule", "")), []).append(str(target.get("arn", "?")))
    found = []
    for logical, rule in resources(stack, "aws_cloudwatch_event_rule").items():
        pattern = rule.get("event_pattern", "{}")
        name = str(rule.get("name", logical))
        targets = [
            arn
            for key, arns in targets_by_rule.items()
            for arn in arns
            if key
            in (name, f"${{aws_cloudwatch_event_rule.{logical}.name}}", f"${{aws_cloudwatch_event_rule.{logical}.id}}")
        ]
        found.append(Rule(name, json.loads(pattern) if isinstance(pattern, str) else pattern, targets))
    return found


_REFERENCE = re.compile(r"^\$\{(data\.)?(aws_[a-z0-9_]+)\.([\w-]+)\.(\w+)\}$")


def readable(stack: Mapping[str, Any], value: object) -> str:
    """``${aws_x.logical.arn}`` shown as ``x <its name>``; anything else as is."""
    match = _REFERENCE.match(str(value))
    if match is None:
        return str(value)
    data, kind, logical, _ = match.groups()
    block = stack.get("data" if data else "resource", {}).get(kind, {}).get(logical, {})
    label = kind.removeprefix("aws_").replace("_", " ")
    return f"{label} {block.get('name') or block.get('path') or logical}"


def endpoint_paths(stack: Mapping[str, Any]) -> list[str]:
    """Full paths of the API resources a stack adds, parents resolved through the stack's data sources."""
    declared = resources(stack, "aws_api_gateway_resource")

    def path_of(logical: str) -> str:
        config = declared[logical]
        match = _REFERENCE.match(str(config.get("parent_id", "")))
        parent = ""
        if match is not None:
            data, kind, parent_logical, _ = match.groups()
            if data:
                parent = str(stack.get("data", {}).get(kind, {}).get(parent_logical, {}).get("path", "")).rstrip("/")
            elif parent_logical in declared:
                parent = path_of(parent_logical)
        return f"{parent}/{config.get('path_part')}"

    return [path_of(logical) for logical in declared]


def describe(stack: Mapping[str, Any]) -> list[str]:
    """Compact lines: endpoint path, request model, queues, pipe, rules with patterns, targets."""
    lines: list[str] = [f"endpoint {path}" for path in endpoint_paths(stack)]
    for method in resources(stack, "aws_api_gateway_method").values():
        models = [readable(stack, model) for model in (method.get("request_models") or {}).values()]
        lines.append(
            f"method {method.get('http_method')} (api key required: {method.get('api_key_required', False)}) "
            f"validates the body against {', '.join(models) or 'nothing'}"
        )
    for model in resources(stack, "aws_api_gateway_model").values():
        lines.append(f"request model {model.get('name')}: {schema_outline(model.get('schema'))}")
    for queue in resources(stack, "aws_sqs_queue").values():
        lines.append(f"queue {queue.get('name')}")
    for pipe in resources(stack, "aws_pipes_pipe").values():
        source, target = readable(stack, pipe.get("source")), readable(stack, pipe.get("target"))
        lines.append(f"pipe {pipe.get('name')}: {source} -> {target}")
    for destination in resources(stack, "aws_cloudwatch_event_api_destination").values():
        lines.append(
            f"api destination {destination.get('name')}: {destination.get('http_method')} "
            f"{destination.get('invocation_endpoint')}"
        )
    for rule in rules(stack):
        lines.append(f"rule {rule.name}: {json.dumps(rule.pattern, separators=(',', ':'))}")
        lines.extend(f"  target {readable(stack, target)}" for target in rule.targets)
    return lines or ["(no resources recognised)"]


def schema_outline(schema: Any) -> str:
    """``data{order_id*:string, amount*:number}``: the data fields of an envelope schema, * when required."""
    try:
        document = json.loads(schema) if isinstance(schema, str) else schema
        data = document["properties"]["data"]
    except (TypeError, KeyError, json.JSONDecodeError):
        return "(schema)"
    required = set(data.get("required", []))
    fields = [
        f"{name}{'*' if name in required else ''}:{spec.get('type', '?')}"
        for name, spec in data.get("properties", {}).items()
    ]
    return "data{" + ", ".join(fields) + "}"
