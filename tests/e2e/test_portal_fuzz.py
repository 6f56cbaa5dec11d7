"""Schemathesis (every check, stateful phase on, over 1,000 test cases) against the live portal finds nothing.

The same run as ``make fuzz``: moto_server and the portal on loopback, ``st run`` against /openapi.json.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fuzz")]

REPO = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_no_failure_in_over_a_thousand_cases() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.portal_fuzz"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    summary = [line for line in result.stdout.splitlines() if line.startswith("schemathesis: exit 0")]
    assert summary and int(summary[-1].split(", ")[1].split()[0]) >= 1000
