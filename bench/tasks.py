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

With ``--scale large`` (or ``xl``) it measures instead what a researcher waits for at that scale:
the org's generation, the task set's build per task type and the peak memory of both, each in a
fresh subprocess, beside the same at ``default`` in the same run (ratios over ``default``).
Targets: task build ≤ 30 s at large and ≤ 2 minutes at xl; org and tasks ≤ 10 minutes and < 2 GB
at xl.
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


_SCALE_CHILD = """
import json, resource, sys, time
from crm_core.org.generator import generate_org
from crm_core.tasks.build import build_tasks
url, scale = sys.argv[1], sys.argv[2]
start = time.perf_counter()
generate_org(url, scale=scale, seed=7)
org_s = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
org_cpu = usage.ru_utime + usage.ru_stime
marks = {}
start = time.perf_counter()
build_tasks(url, progress=lambda name, done, total: marks.setdefault(name, time.perf_counter()))
tasks_s = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
tasks_cpu = usage.ru_utime + usage.ru_stime - org_cpu
per_task, previous = {}, start
for name, mark in marks.items():
    per_task[name], previous = mark - previous, mark
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"org": org_s, "tasks": tasks_s, "tasks_cpu": tasks_cpu, "per_task": per_task, "peak_mb": peak_mb}))
"""
TARGET_TASKS_AT = {"large": 30.0, "xl": 120.0}


def scale_run(scale: str) -> dict:
    """Generate an org of `scale` and build its task set in a fresh subprocess; times and peak RSS."""
    import json
    import subprocess

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'org.db'}"
        done = subprocess.run(
            [sys.executable, "-c", _SCALE_CHILD, url, scale], cwd=root, capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"{scale}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def scale_report(scale: str, console: Console) -> None:
    """Org time, task time per task type and peak memory at `scale`, as ratios over `default`."""
    runs = {}
    for name in ("default", scale):
        console.print(f"Generating the {name} org and its task set (seed 7) ...")
        runs[name] = scale_run(name)
    base, big = runs["default"], runs[scale]
    table = Table("step", "default s", f"{scale} s", "× default", title=f"Task build at {scale} (SQLite)")
    for task, seconds in big["per_task"].items():
        table.add_row(
            task, f"{base['per_task'][task]:.2f}", f"{seconds:.2f}", f"{seconds / base['per_task'][task]:.1f}"
        )
    for label, key in (
        ("task set", "tasks"),
        ("task set, CPU s", "tasks_cpu"),
        ("org", "org"),
        ("peak RSS MB", "peak_mb"),
    ):
        table.add_row(label, f"{base[key]:.1f}", f"{big[key]:.1f}", f"{big[key] / base[key]:.1f}")
    console.print(table)
    console.print("The first task's time includes reading the sampling frame and every sampler's totals.")
    target = TARGET_TASKS_AT.get(scale)
    if target is not None:
        met = big["tasks"] <= target
        console.print(
            f"Task build {big['tasks']:.1f} s at {scale}: target ≤ {target:.0f} s {'met' if met else 'NOT met'}."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org-db", help="an existing default-scale org (default: generate one, seed 7)")
    parser.add_argument("--per-task", type=int, default=130)
    parser.add_argument("--scale", choices=("large", "xl"), help="measure org and task build at this scale")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    if args.scale:
        scale_report(args.scale, console)
        return
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
