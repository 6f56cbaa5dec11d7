"""The portal's layers: only the AWS adapters speak the AWS SDK; services see domain exceptions only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHALICELIB = Path(__file__).resolve().parents[3] / "portal_chalice" / "chalicelib"
SDK = {"boto3", "botocore"}
#: what a service would have to name to decode an AWS error itself
AWS_ERROR_WORDS = ("ClientError", "ConditionalCheckFailed", "CancellationReasons")


def sdk_imports(source: str) -> set[str]:
    """Modules of the AWS SDK that ``source`` imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(name for name in names if name.split(".")[0] in SDK)
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from botocore.exceptions import ClientError",
        "import botocore.exceptions",
        "def f():\n    import boto3\n",
        "try:\n    pass\nexcept ImportError:\n    from boto3.dynamodb.types import TypeSerializer\n",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    assert sdk_imports(source)


def test_no_service_imports_the_aws_sdk_nor_decodes_dynamodb_cancellations() -> None:
    offenders = {}
    for path in sorted((CHALICELIB / "services").glob("*.py")):
        source = path.read_text()
        problems = sorted(sdk_imports(source))
        problems += [word for word in AWS_ERROR_WORDS if word in source]
        if problems:
            offenders[path.name] = problems
    assert offenders == {}


def test_nothing_above_the_adapters_handles_botocore_errors() -> None:
    """Routes, services and wiring may build clients (boto3) but never read botocore's errors."""
    importers = {
        str(path.relative_to(CHALICELIB)): botocore
        for path in sorted(CHALICELIB.rglob("*.py"))
        if path.parent.name != "aws"
        and (botocore := sorted(name for name in sdk_imports(path.read_text()) if name.startswith("botocore")))
    }
    assert importers == {}
