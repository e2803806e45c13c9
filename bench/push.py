"""Benchmark of ``org push``: an org into an empty one over HTTPS (Bulk API 2.0) vs the write path alone.

Generates an org (``--scale``, default ``tiny``, seed 7) and two empty orgs. The push sends the
first into ``serve --writable=shared`` over the second through simple-salesforce (jobs of
``--batch-size`` records). The baseline, measured in the same run, loads the same CSV rows into
the third through :func:`crm_core.api.ingest_jobs.run_job` in this process (the writes every job
row goes through, without HTTP, jobs, polling or results files). Prints seconds and records/s
per object and the ratio push / baseline.

    .venv/bin/python -m bench.push [--scale tiny] [--batch-size 10000]

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crm_core.api.ingest_jobs import run_job
from crm_core.api.launcher import start_server_process
from crm_core.db import make_readonly_engine
from crm_core.org.generator import create_empty_org, generate_org
from crm_core.org.push import (
    PushState,
    _batches,
    _csv_rows,
    _csv_text,
    _match,
    connect,
    push_order,
    push_org,
    pushed_fields,
)
from crm_core.sandbox import open_shared
from crm_core.store.engine import open_app_store
from crm_core.users import accounts


def _direct(source: str, target: str, batch_size: int) -> dict[str, float]:
    """Seconds per object to load the push's CSV rows through run_job in this process."""
    engine, store = make_readonly_engine(source), open_shared(target)
    ids: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for obj in push_order():
        start = time.perf_counter()
        for records in _batches(engine, obj, batch_size, None):
            rows = _csv_rows(obj, records, ids)
            done = run_job(store, obj.name, "insert", None, _csv_text(pushed_fields(obj), rows))
            ids |= _match(rows, done.successful, done.failed).ids
        seconds[obj.name] = time.perf_counter() - start
    store.close()
    store.engine.dispose()
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        source, target, direct = (f"sqlite:///{folder / name}.db" for name in ("a", "b", "c"))
        with console.status(f"Generating the {args.scale} org ..."):
            generate_org(source, scale=args.scale, seed=7)
            create_empty_org(target)
            create_empty_org(direct)
        app_url = f"sqlite:///{folder / 'app.db'}"
        sessions = open_app_store(app_url)
        with sessions() as session:
            accounts.add_user(session, "bench", "researcher", "bench-password")
        sessions.kw["bind"].dispose()
        server = start_server_process(
            target, app_url, folder / "server", extra_args=("--writable=shared", "--log-level", "warning")
        )
        try:
            sf = connect(server.base_url, username="bench", password="bench-password", session=server.session())
            marks: dict[str, list[float]] = {}
            counts: dict[str, int] = {}

            def report(name: str, done: int, total: int) -> None:
                marks.setdefault(name, []).append(time.perf_counter())
                counts[name] = total

            state = PushState(folder / "state.sqlite")
            start = time.perf_counter()
            push_org(make_readonly_engine(source), sf, state, batch_size=args.batch_size, progress=report)
            pushed_total = time.perf_counter() - start
            state.close()
        finally:
            server.stop()
        baseline = _direct(source, direct, args.batch_size)
    table = Table("object", "records", "push s", "push records/s", "baseline s", "ratio push / baseline",
                  title=f"org push, {args.scale} org, batches of {args.batch_size:,}")  # fmt: skip
    for name, times in marks.items():
        seconds = times[-1] - times[0]
        table.add_row(name, f"{counts[name]:,}", f"{seconds:.2f}", f"{counts[name] / max(seconds, 1e-9):,.0f}",
                      f"{baseline[name]:.2f}", f"{seconds / max(baseline[name], 1e-9):.1f}x")  # fmt: skip
    total = sum(counts.values())
    base_total = sum(baseline.values())
    table.add_row("all (with login and checks)", f"{total:,}", f"{pushed_total:.2f}", f"{total / pushed_total:,.0f}",
                  f"{base_total:.2f}", f"{pushed_total / base_total:.1f}x")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
