"""Benchmark of the benchmark: building the default task set, tool-call latency, and the oracle.

In one run, on one default-scale org (seed 7, generated into a temporary folder unless --org-db
is given), it measures:
- ``build``: generating the 1,170-instance task set (reference solvers over SQLAlchemy), against
  the target of 30 s and as a ratio over the time to read the generators' sampling frame;
- ``tool calls``: p50 and p95 latency per tool over every call the oracle makes, as ratios over
  the p50 of a plain ``SELECT COUNT(*) FROM "Case"`` on the same connection (the baseline);
- ``oracle``: answering all instances through the task tools, and again with raw SOQL/SOSL only,
  against the target of 60 s and as a ratio over (number of tool calls x baseline p50).

    .venv/bin/python bench/tasks.py
    .venv/bin/python bench/tasks.py --org-db sqlite:///data/org.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_core.db import make_readonly_engine  # noqa: E402
from crm_core.tasks.build import generate_tasks  # noqa: E402
from crm_core.tasks.oracle import solve  # noqa: E402
from crm_core.tasks.records import TaskInstance  # noqa: E402
from crm_core.tasks.sampling import read_org_view  # noqa: E402
from crm_core.tools import TOOLS, ToolContext  # noqa: E402

TARGET_BUILD_S = 30.0
TARGET_ORACLE_S = 60.0


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def baseline_ms(url: str, repeats: int = 200) -> float:
    """p50 of a plain SELECT COUNT(*) on the org, in milliseconds."""
    engine = make_readonly_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(repeats):
            start = time.perf_counter()
            conn.execute(text('SELECT COUNT(*) FROM "Case"')).scalar()
            times.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return statistics.median(times)


def timed_oracle(
    url: str, instances: list[TaskInstance], *, raw_queries: bool = False
) -> tuple[float, dict[str, list[float]], int]:
    """Run the oracle on every instance; then replay its tool calls one by one to time each."""
    engine = make_readonly_engine(url)
    per_tool: dict[str, list[float]] = defaultdict(list)
    with engine.connect() as conn:
        start = time.perf_counter()
        traces = []
        for instance in instances:
            today = instance.params.get("today")
            ctx = ToolContext(conn, dt.date.fromisoformat(today) if today else None)
            traces.append((ctx, solve(instance, ctx, raw_queries=raw_queries)))
        oracle_s = time.perf_counter() - start
        for ctx, trace in traces:
            for step in trace.steps:
                began = time.perf_counter()
                TOOLS[step.tool].run(ctx, step.arguments)
                per_tool[step.tool].append((time.perf_counter() - began) * 1000)
    engine.dispose()
    calls = sum(len(v) for v in per_tool.values())
    return oracle_s, per_tool, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org-db", help="an existing default-scale org (default: generate one, seed 7)")
    parser.add_argument("--per-task", type=int, default=130)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    with tempfile.TemporaryDirectory() as folder:
        url = args.org_db
        if url is None:
            from crm_core.org.generator import generate_org

            url = f"sqlite:///{Path(folder) / 'org.db'}"
            console.print("Generating the default org (seed 7) ...")
            generate_org(url, scale="default", seed=7)
        base_ms = baseline_ms(url)

        engine = make_readonly_engine(url)
        with engine.connect() as conn:
            began = time.perf_counter()
            read_org_view(conn)
            frame_s = time.perf_counter() - began
        engine.dispose()

        began = time.perf_counter()
        instances = generate_tasks(url, per_task=args.per_task, seed=7)
        build_s = time.perf_counter() - began
        oracle_s, per_tool, calls = timed_oracle(url, instances)
        raw_s, raw_tools, raw_calls = timed_oracle(url, instances, raw_queries=True)

    summary = Table("measure", "value", "target", "ratio", "ratio over", title=f"Tasks ({len(instances)} instances)")
    summary.add_row(
        "build", f"{build_s:.2f} s", f"≤ {TARGET_BUILD_S:.0f} s", f"{build_s / frame_s:.0f}×", "reading the frame"
    )
    summary.add_row(
        "oracle",
        f"{oracle_s:.2f} s",
        f"≤ {TARGET_ORACLE_S:.0f} s",
        f"{oracle_s * 1000 / (calls * base_ms):.1f}×",
        f"{calls} × COUNT(*)",
    )
    summary.add_row(
        "oracle, raw SOQL only",
        f"{raw_s:.2f} s",
        f"≤ {TARGET_ORACLE_S:.0f} s",
        f"{raw_s * 1000 / (raw_calls * base_ms):.1f}×",
        f"{raw_calls} × COUNT(*)",
    )
    summary.add_row("baseline COUNT(*) p50", f"{base_ms:.3f} ms", "", "1.0×", "")
    console.print(summary)

    tools = Table("tool", "calls", "p50 ms", "p95 ms", "p50 / baseline", "p95 / baseline", title="Tool calls")
    for name in ("issue_soql_query", "issue_sosl_query"):  # the raw oracle's queries
        per_tool[f"{name} (raw oracle)"] = raw_tools.get(name, [])
    per_tool = {name: values for name, values in per_tool.items() if values}
    rows = sorted(per_tool.items(), key=lambda kv: -percentile(kv[1], 0.5))
    every = [ms for name, values in per_tool.items() if "raw" not in name for ms in values]
    for name, values in [*rows, ("all (task tools)", every)]:
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        ratios = (f"{p50 / base_ms:.1f}×", f"{p95 / base_ms:.1f}×")
        tools.add_row(name, str(len(values)), f"{p50:.2f}", f"{p95:.2f}", *ratios)
    console.print(tools)
    met = build_s <= TARGET_BUILD_S and max(oracle_s, raw_s) <= TARGET_ORACLE_S
    console.print(
        f"Targets {'met' if met else 'NOT met'}: build {build_s:.1f} s ≤ 30 s, "
        f"oracle {oracle_s:.1f} s (raw SOQL {raw_s:.1f} s) ≤ 60 s."
    )


if __name__ == "__main__":
    main()
