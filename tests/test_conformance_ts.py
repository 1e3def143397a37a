"""An independent client: the official TypeScript SDK (npm @anthropic-ai/sdk) against the simulator.

tests/ts/conformance.mjs runs each check with the unmodified SDK and prints one JSON line per check; each
check is one test here. `.ci/run` installs the SDK (`npm ci --prefix tests/ts`); locally the test is
skipped, saying why, where node or the package is missing — in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from claude_magic.simulator import Simulator

TS = Path(__file__).parent / "ts"
SDK = TS / "node_modules" / "@anthropic-ai" / "sdk" / "package.json"
CHECKS = (
    "models", "create", "streaming", "raw_events", "tools", "tools_on_5_5_text_between_calls_is_thinking",
    "thinking", "count_tokens", "errors", "bearer_key_and_version", "rule_sampling_parameters_removed",
    "rule_unknown_parameter", "rule_manual_thinking_budget_on_adaptive_only_models", "rule_forced_tool_use_on_5_5",
    "rule_max_tokens_above_the_limit", "rule_document_in_assistant_turn", "rule_citations_on_user_text",
    "rule_thinking_blocks_tied_to_their_model", "older_version_rules",
)


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not SDK.exists():
        return "the TypeScript SDK is not installed: run `npm ci --prefix tests/ts`"
    return None


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"TypeScript conformance cannot run in CI: {missing}")
        pytest.skip(missing)
    with Simulator() as simulator:
        run = subprocess.run(["node", str(TS / "conformance.mjs"), simulator.url],
                             capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return {line["check"]: line for line in lines}


def test_the_installed_sdk_is_the_locked_one_and_speaks_2026_10_21(results):
    locked = json.loads((TS / "package-lock.json").read_text())["packages"]["node_modules/@anthropic-ai/sdk"]
    assert json.loads(SDK.read_text())["version"] == locked["version"]
    assert results["bearer_key_and_version"]["detail"] == "2026-10-21"


def test_every_check_ran(results):
    assert sorted(results) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_check(results, check):
    outcome = results.get(check)
    assert outcome is not None, f"{check} did not run"
    assert outcome["ok"], outcome["detail"]
