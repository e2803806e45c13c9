"""Org and task-set generation speed and memory per scale, SQLite and PostgreSQL side by side.

Usage: ``.venv/bin/python -m bench.generate [--large] [--xl] [--scales a,b] [--pg-url URL] [--no-pg] [--realism]
[--against REV]``

Each run generates into a fresh database in its own subprocess (so peak RSS is that run's
alone), then counts every record it wrote. Columns: wall seconds, CPU seconds of the generating
process and of the worker processes that draw the cases' text (a shared machine inflates wall
time; the database server's CPU is not included),
records, records/s (wall), the task set's build time (built as `generate` builds it: on SQLite
after the org, on PostgreSQL while the server builds the search index, so within the org's time) and
its ratio over the same backend's `default` build, peak RSS of org and tasks together (the main
process's plus the largest worker's), and
records/s as a ratio of the baseline (SQLite at `default` scale, measured in the same run).
PostgreSQL uses ``--pg-url`` or ``CRM_TEST_PG_URL`` (an admin URL: a database is created and
dropped per run). `large` and `xl` are opt-in. ``--against REV`` also generates each scale on
SQLite with the code of git revision REV (extracted to a temporary folder) and prints this
code's CPU seconds as a ratio of REV's: a before/after measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TARGET_SECONDS = {"default": 20, "large": 180, "xl": 600}
TARGET_TASK_SECONDS = {"large": 30, "xl": 120}
TARGET_TOTAL_SECONDS = {"default": 30, "large": 240, "xl": 600}  # `generate` end to end: org and task set

_CHILD = """
import json, resource, sys, time
from sqlalchemy import create_engine
from crm_core.org.generator import generate_org
from crm_core.org.stats import org_stats
from crm_core.tasks.build import build_tasks
url, scale = sys.argv[1], sys.argv[2]
built = {}
def task_set():  # as `generate` builds it: on PostgreSQL while the server builds the search index
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_THREAD)
    build_tasks(url)
    end = resource.getrusage(resource.RUSAGE_THREAD)
    built["tasks"] = time.perf_counter() - start
    built["tasks_cpu"] = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
import inspect
beside = "beside_search_index" in inspect.signature(generate_org).parameters  # (not in older code: --against)
start = time.perf_counter()
if beside:
    generate_org(url, scale=scale, seed=0, beside_search_index=task_set)
else:
    generate_org(url, scale=scale, seed=0)
    task_set()
total = time.perf_counter() - start
usage, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime - built["tasks_cpu"]
peak_mb = usage.ru_maxrss / 1024 + workers.ru_maxrss / 1024
overlapped = beside and not url.startswith("sqlite")
engine = create_engine(url)
stats = org_stats(engine, with_digest=False)
engine.dispose()
records = sum(stats.counts.values()) + sum(stats.latent_counts.values())
result = {"seconds": total if overlapped else total - built["tasks"], "total": total, "cpu": cpu,
          "records": records, "peak_mb": peak_mb, "cases": stats.counts["Case"], "overlapped": overlapped, **built}
if sys.argv[3] == "1":
    from crm_core.org.realism import realism_report
    start = time.perf_counter()
    engine = create_engine(url)
    report = realism_report(engine)
    engine.dispose()
    result["realism_seconds"] = time.perf_counter() - start
    result["realism"] = {
        f.field: [f.words_median, f.repeated_sentence_share, f.near_duplicate_share] for f in report.fields
    }
print(json.dumps(result))
"""


REALISM = False  # set by --realism: measure the free text of each SQLite org after generating it


ROOT = Path(__file__).resolve().parents[1]


def _run(url: str, scale: str, root: Path = ROOT) -> dict[str, float]:
    realism = "1" if REALISM and url.startswith("sqlite") else "0"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, url, scale, realism], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"generation failed for {scale} at {url}:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _sqlite(scale: str, root: Path = ROOT) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        return _run(f"sqlite:///{Path(folder) / 'org.db'}", scale, root)


def _checkout(revision: str, folder: Path) -> Path:
    """The tree of `revision` of this repository, extracted into `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise SystemExit(f"cannot read revision {revision!r}: {archive.stderr.decode()[-500:]}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _postgres(admin_url: str, scale: str) -> dict[str, float]:
    name = f"bench_generate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return _run(make_url(admin_url).set(database=name).render_as_string(hide_password=False), scale)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run the large scale (100k cases)")
    parser.add_argument("--xl", action="store_true", help="also run the xl scale (1M cases)")
    parser.add_argument("--scales", help="comma-separated scales to run instead (e.g. default,xl)")
    parser.add_argument("--pg-url", default=os.environ.get("CRM_TEST_PG_URL"), help="PostgreSQL admin URL")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (no baseline ratio)")
    parser.add_argument("--realism", action="store_true", help="also print the realism report's figures (SQLite)")
    parser.add_argument("--against", metavar="REV", help="also time REV's code on SQLite (before/after ratios)")
    args = parser.parse_args()
    global REALISM
    REALISM = args.realism
    scales = ["tiny", "default"] + (["large"] if args.large else []) + (["xl"] if args.xl else [])
    if args.scales:
        scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    backends = ([] if args.no_sqlite else ["sqlite"]) + ([] if args.no_pg or not args.pg_url else ["postgresql"])
    console = Console(width=150)
    results: dict[tuple[str, str], dict[str, float]] = {}
    before_folder = tempfile.TemporaryDirectory() if args.against else None
    before = _checkout(args.against, Path(before_folder.name)) if before_folder else None
    for scale in scales:
        if before is not None:
            console.print(f"generating {scale} on sqlite with {args.against} ...")
            results[(scale, f"sqlite@{args.against}")] = _sqlite(scale, before)
        for backend in backends:
            console.print(f"generating {scale} on {backend} ...")
            results[(scale, backend)] = _sqlite(scale) if backend == "sqlite" else _postgres(args.pg_url, scale)
    if before_folder:
        before_folder.cleanup()
    baseline = results.get(("default", "sqlite"))
    table = Table(title="Org and task-set generation (seed 0)")
    for column in (
        "scale",
        "backend",
        "cases",
        "records",
        "seconds",
        "CPU s",
        "records/s",
        "× baseline",
        "tasks s",
        "tasks CPU s",
        "tasks × default",
        "peak RSS MB",
        "target",
    ):
        table.add_column(column, justify="right" if column not in {"scale", "backend"} else "left")
    for (scale, backend), r in results.items():
        rate = r["records"] / r["seconds"]
        ratio = f"{rate / (baseline['records'] / baseline['seconds']):.2f}" if baseline else "-"
        default_tasks = results.get(("default", backend), {}).get("tasks")
        task_ratio = f"{r['tasks'] / default_tasks:.1f}" if default_tasks else "-"
        verdicts = [
            f"{label} ≤ {limit} s: {'yes' if value <= limit else 'NO'}"
            for label, limit, value in (
                ("org", TARGET_SECONDS.get(scale), r["seconds"]),
                ("tasks", TARGET_TASK_SECONDS.get(scale), r["tasks"]),
                ("both", TARGET_TOTAL_SECONDS.get(scale), r.get("total", r["seconds"] + r["tasks"])),
            )
            if limit is not None
        ]
        table.add_row(
            scale, backend, f"{r['cases']:,}", f"{r['records']:,}", f"{r['seconds']:.1f}", f"{r['cpu']:.1f}",
            f"{rate:,.0f}", ratio, f"{r['tasks']:.1f}" + (" (beside)" if r.get("overlapped") else ""),
            f"{r['tasks_cpu']:.1f}", task_ratio,
            f"{r['peak_mb']:.0f}", "; ".join(verdicts) or "-",
        )  # fmt: skip
    console.print(table)
    console.print("baseline: SQLite at default scale, same run; × baseline = records/s ÷ baseline records/s")
    console.print("tasks × default = task-set build seconds ÷ the same backend's default build (same run)")
    console.print(
        "on PostgreSQL the task set is built beside the search index (as `generate` does): its seconds are within"
        " the org's, and 'both' is the end-to-end time"
    )
    if args.against:
        _print_against(console, results, args.against)
    _print_realism(console, results)


def _print_against(console: Console, results: dict[tuple[str, str], dict], revision: str) -> None:
    """This code's org generation against `revision`'s, per scale: CPU and wall seconds and their ratios."""
    table = Table(title=f"Org generation on SQLite: this code vs {revision} (same run)")
    for column in ("scale", f"{revision} CPU s", "CPU s", "CPU ratio", f"{revision} s", "s", "wall ratio"):
        table.add_column(column, justify="left" if column == "scale" else "right")
    for (scale, backend), before in results.items():
        after = results.get((scale, "sqlite"))
        if backend != f"sqlite@{revision}" or after is None:
            continue
        table.add_row(
            scale, f"{before['cpu']:.1f}", f"{after['cpu']:.1f}", f"{after['cpu'] / before['cpu']:.2f}",
            f"{before['seconds']:.1f}", f"{after['seconds']:.1f}", f"{after['seconds'] / before['seconds']:.2f}",
        )  # fmt: skip
    console.print(table)


def _print_realism(console: Console, results: dict[tuple[str, str], dict]) -> None:
    """Median words, repeated-sentence share and near-duplicate share per text field, scale and code
    (this code, and REV's with ``--against``)."""
    measured = {key: r for key, r in results.items() if "realism" in r}
    if not measured:
        return
    table = Table(title="Realism of the free text (median words / repeated sentences / near-duplicates)")
    table.add_column("field")
    for (scale, backend), r in measured.items():
        code = backend.partition("@")[2] or "this code"
        table.add_column(f"{scale}, {code} ({r['realism_seconds']:.1f} s)", justify="right")
    for field in next(iter(measured.values()))["realism"]:
        cells = [r["realism"].get(field, [0, 0, 0]) for r in measured.values()]
        table.add_row(field, *(f"{w:g} / {rep:.1%} / {dup:.1%}" for w, rep, dup in cells))
    console.print(table)


if __name__ == "__main__":
    main()
