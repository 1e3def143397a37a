"""The benchmark script runs end to end (small sizes) and reports every measurement; no figure is judged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = (
    "streaming overhead, widget",
    "streaming overhead, display",
    *(f"updates/s at {rate} deltas/s, {mode}" for rate in ("50", "500", "5,000")
      for mode in ("widget", "display")),
    "first delta → first update showing it, widget",
    "first delta → first update showing it, display",
    "magic's own time per turn",
    "memory beyond the history",
    "%load_ext claude_magic, fresh process",
    "anthropic imported by %load_ext",
    "nbclient, 3 question cells",
    "iopub bytes / answer bytes, 20 kB answer",
    "--map at 600 RPM",
    "--map at 60,000 output tokens/min",
)


def test_quick_benchmark_prints_its_table_and_summary():
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    header, rule, *rows, summary = done.stdout.splitlines()
    assert [cell.strip() for cell in header.split(" | ")] == ["metric", "measured", "target", "ok?"]
    assert set(rule) == {"-", "+"}
    assert len(rows) == len(METRICS), done.stdout
    for row, metric in zip(rows, METRICS):
        name, measured, _, ok = (cell.strip() for cell in row.split(" | "))
        assert name.startswith(metric) and measured and ok in ("yes", "NO", "–"), row
    assert re.fullmatch(r"summary: \d+/17 targets met(; missed: .+)?", summary), summary
