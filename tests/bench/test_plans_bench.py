"""make bench's plans section on a few plans: it counts the buys (exactly one per plan) and sees the
calls a run makes, so its "where the time goes" rows are measured, not zero. Run as make bench runs it,
in a process of its own (it starts its own stack and quiets logging for good)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.measure import ROOT


def test_the_plans_bench_reports_one_buy_per_plan_and_the_calls_of_each_run(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "minted"), str(ROOT)])}
    result = subprocess.run(  # noqa: S603 - this interpreter, the project's own module
        [sys.executable, "-m", "bench.plans", "--plans", "12", "--concurrency", "3", "--doc", str(doc)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    text = doc.read_text(encoding="utf-8")
    assert "| buys at the sandbox | exactly 12 |" in text
    assert result.stdout.strip() == text.strip(), "it prints its section and nothing else (no run's call lines)"
    minted = re.search(r"\| per run: Minted calls \(the sandbox\) \| ([\d.]+) calls", text)
    aws = re.search(r"\| per run: AWS calls \(DynamoDB, SQS, EventBridge on moto\) \| ([\d.]+) calls", text)
    assert minted is not None and aws is not None, text
    assert float(minted.group(1)) == 3.0, "a run makes Price Fix, Get Customer and Buy"
    assert float(aws.group(1)) >= 3, "a run reads its plan, claims its order and records it, at least"
