"""checkov (its CloudFormation checks) on the synthesized templates: no failed check, and every
check skipped on a resource carries its reason (``Metadata: checkov: skip``, written by
``infra.nag.skip_checkov``). checkov lives in a venv of its own (its pins clash with ours)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from infra import REPO_ROOT
from tests.infra.conftest import EDGE, Synthesized

CHECKOV_VENV = REPO_ROOT / ".venv-tools" / "checkov"
CHECKOV = CHECKOV_VENV / "bin" / "checkov"
MAKE_TARGET = ".venv-tools/checkov/.installed"
REQUIREMENTS = REPO_ROOT / "requirements-checkov.txt"
STAGES = ["dev", "prod", EDGE]
# What checkov writes when a skip has no comment.
NO_REASON = {"", "No comment provided"}


@pytest.fixture(scope="module")
def reports(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed: run `make {MAKE_TARGET}` (a venv of its own, from {REQUIREMENTS.name})",
            pytrace=False,
        )
    found = {}
    for stage in STAGES:
        run = subprocess.run(
            [
                str(CHECKOV),
                "--file",
                str(synthesized.template_files[stage]),
                "--framework",
                "cloudformation",
                "--output",
                "json",
                "--compact",
                "--skip-download",  # offline: no guidelines or policies from Prisma Cloud
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode in (0, 1), f"checkov failed to run ({run.returncode}):\n{run.stderr[-3000:]}"
        report = json.loads(run.stdout)
        found[stage] = report[0] if isinstance(report, list) else report
    return found


def test_the_checkov_that_runs_is_the_pinned_one(reports: dict[str, dict[str, Any]]) -> None:
    pinned = re.search(r"^checkov==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)

    assert pinned is not None
    for report in reports.values():
        assert report["summary"]["checkov_version"] == pinned.group(1), f"stale venv: run `make {MAKE_TARGET}`"


@pytest.mark.parametrize("stage", STAGES)
def test_checkov_reads_the_whole_template(reports: dict[str, dict[str, Any]], stage: str) -> None:
    summary = reports[stage]["summary"]

    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100 and summary["passed"] > 100


@pytest.mark.parametrize("stage", STAGES)
def test_checkov_finds_nothing_that_is_neither_fixed_nor_skipped_with_a_reason(
    reports: dict[str, dict[str, Any]], stage: str
) -> None:
    results = reports[stage]["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in results["skipped_checks"]
        if c["check_result"].get("suppress_comment", "").strip() in NO_REASON
    ]

    assert not failed, "fix these, or skip them in the template with a reason (infra.nag.skip_checkov):\n" + "\n".join(
        failed
    )
    assert not unexplained, "skipped without a reason:\n" + "\n".join(unexplained)
