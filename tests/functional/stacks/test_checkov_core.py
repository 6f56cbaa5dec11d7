"""checkov over both core stacks, fully synthesized (with their inline skips) into one directory."""

from __future__ import annotations

import pytest

from tests.functional.stacks.conftest import Core
from tests.support.checkov import scan

pytestmark = [pytest.mark.xdist_group("core-stacks"), pytest.mark.checkov]


def test_checkov_finds_nothing_unexplained_in_the_core_stacks(core: Core) -> None:
    assert sorted(path.parent.name for path in core.outdir.glob("stacks/*/cdk.tf.json")) == ["bootstrap", "broker"]
    findings = scan(core.outdir)
    assert findings == [], "\n".join(str(finding) for finding in findings)
