"""Server time of the Org Explorer's pages at growing org sizes (target: at most 500 ms, independent of size).

Calls the crm_core functions the Org Explorer page calls, through the same read-only engine:
a table page of 50 Cases (default sort, a deep page, a filter, an unindexed sort) and record
views (a Case, an Account, an Issue with a tenth of all cases as children). The baseline is the
``default`` org, measured in the same run; the table prints each size's median over it.

    .venv/bin/python bench/app.py [--large] [--xl] [--reps 15]

Orgs are generated once (seed 7) into ``data/bench/studio-<scale>.db`` and reused; ``--xl``
(1M cases, a few GB) is opt-in.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_core.db import make_readonly_engine  # noqa: E402
from crm_core.org.generator import generate_org  # noqa: E402
from crm_core.studio.explorer import ColumnFilter, SortOrder, list_records, load_record  # noqa: E402
from crm_core.studio.startup import org_state  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"
TARGET_MS = 500.0
console = Console()


def org_url(scale: str) -> str:
    """The benchmark org of `scale`, generated on first use."""
    url = f"sqlite:///{DATA / f'studio-{scale}.db'}"
    if org_state(url) == "ready":
        return url
    if org_state(url) == "incomplete":
        (DATA / f"studio-{scale}.db").unlink()
    DATA.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(f"generating {scale}", total=1)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"generating {scale}: {stage}", completed=done, total=max(total, 1))

        generate_org(url, scale=scale, seed=7, progress=report)
    return url


def operations(conn: Connection) -> dict[str, Callable[[], object]]:
    """What the Org Explorer does to draw its pages, on records picked from this org."""
    case_id = conn.execute(text('SELECT "Id" FROM "Case" ORDER BY "CreatedDate" DESC LIMIT 1 OFFSET 500')).scalar_one()
    account_id = conn.execute(text('SELECT "AccountId" FROM "Case" WHERE "Id" = :id'), {"id": case_id}).scalar_one()
    issue_id = conn.execute(text('SELECT "Id" FROM "Issue__c" ORDER BY "Id" LIMIT 1')).scalar_one()
    return {
        "table: 50 Cases, newest first": lambda: list_records(conn, "Case", page_size=50),
        "table: page 200 (rows 10,001-10,050)": lambda: list_records(conn, "Case", page=200, page_size=50),
        "table: Status = New": lambda: list_records(
            conn, "Case", filters=[ColumnFilter(field="Status", op="equals", value="New")], page_size=50
        ),
        "table: Subject contains 'refund'": lambda: list_records(
            conn, "Case", filters=[ColumnFilter(field="Subject", op="contains", value="refund")], page_size=50
        ),
        "table: sorted by Subject (no index)": lambda: list_records(
            conn, "Case", sort=SortOrder(field="Subject", descending=False), page_size=50
        ),
        "record view: Case": lambda: load_record(conn, case_id),
        "record view: Account": lambda: load_record(conn, account_id),
        "record view: Issue (1/10 of cases related)": lambda: load_record(conn, issue_id),
    }


def measure(url: str, reps: int) -> dict[str, tuple[float, float]]:
    """Median and max milliseconds of each operation over `reps` runs (after one warm-up)."""
    engine = make_readonly_engine(url)
    results = {}
    with engine.connect() as conn:
        for name, run in operations(conn).items():
            run()
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1000)
            results[name] = (statistics.median(times), max(times))
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the large org (100k cases)")
    parser.add_argument("--xl", action="store_true", help="also the xl org (1M cases; generated once, a few GB)")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    scales = ["default"] + (["large"] if args.large else []) + (["xl"] if args.xl else [])
    urls = {scale: org_url(scale) for scale in scales}
    results = {}
    for scale, url in urls.items():
        console.print(f"measuring {scale} ...")
        results[scale] = measure(url, args.reps)
    table = Table(title=f"Org Explorer server time, ms (median / max of {args.reps}); ratio = median over default")
    table.add_column("operation")
    for scale in scales:
        table.add_column(scale, justify="right")
        if scale != "default":
            table.add_column(f"{scale}/default", justify="right")
    worst = 0.0
    for name in results["default"]:
        row = [name]
        for scale in scales:
            median, peak = results[scale][name]
            worst = max(worst, median)
            row.append(f"{median:.1f} / {peak:.1f}")
            if scale != "default":
                row.append(f"{median / results['default'][name][0]:.2f}x")
        table.add_row(*row)
    console.print(table)
    verdict = "within" if worst <= TARGET_MS else "OVER"
    console.print(f"slowest median {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
