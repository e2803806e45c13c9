"""Benchmark of the REST API: a typical tool query over HTTPS vs the in-process engine.

Generates an org (``--cases``, default 5,000), starts ``python -m crm_core serve`` on
127.0.0.1 and sends the query ``get_cases`` issues for one quarter, with keep-alive sessions, at
concurrency 1 and 16. The baseline is the same query through ``run_soql`` in this process,
measured in the same run. Prints requests/s, p50 and p95 latency and the ratio to the baseline.

    .venv/bin/python -m bench.api [--cases 5000] [--requests 200] [--workers 1]

Request loops are bounded in count; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crm_core.api.launcher import ServerProcess, start_server_process
from crm_core.db import make_readonly_engine
from crm_core.org.generator import generate_org
from crm_core.query import run_soql
from crm_core.store.engine import open_app_store
from crm_core.users import accounts

QUERY = (
    "SELECT Id, OwnerId, AccountId, Status, CreatedDate, ClosedDate FROM Case "
    "WHERE CreatedDate >= 2024-01-01T00:00:00Z AND CreatedDate < 2024-04-01T00:00:00Z "
    "AND Status IN ('Closed') ORDER BY CreatedDate, Id"
)
TODAY = dt.date(2025, 6, 1)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _in_process(org_url: str, count: int) -> tuple[list[float], int]:
    engine = make_readonly_engine(org_url)
    latencies, size = [], 0
    with engine.connect() as conn:
        run_soql(conn, QUERY, today=TODAY)  # warm-up
        for _ in range(count):
            start = time.perf_counter()
            size = run_soql(conn, QUERY, today=TODAY)["totalSize"]
            latencies.append(time.perf_counter() - start)
    engine.dispose()
    return latencies, size


def _over_http(server: ServerProcess, token: str, count: int, concurrency: int) -> tuple[list[float], float, int]:
    url = f"{server.base_url}/services/data/v60.0/query"
    headers = {"Authorization": f"Bearer {token}"}
    per_worker = max(1, -(-count // concurrency))

    def worker(_index: int) -> tuple[list[float], int]:
        session = server.session()
        session.get(url, params={"q": QUERY}, headers=headers).raise_for_status()  # warm-up (TLS, keep-alive)
        latencies, size = [], 0
        for _ in range(per_worker):
            start = time.perf_counter()
            answer = session.get(url, params={"q": QUERY}, headers=headers)
            latencies.append(time.perf_counter() - start)
            answer.raise_for_status()
            size = answer.json()["totalSize"]
        session.close()
        return latencies, size

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(worker, range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies = [value for worker_latencies, _ in results for value in worker_latencies]
    return latencies, elapsed, results[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="cases in the generated org")
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="crm_api_bench_") as tmp:
        folder = Path(tmp)
        org_url, app_url = f"sqlite:///{folder / 'org.db'}", f"sqlite:///{folder / 'app.db'}"
        console.print(f"Generating an org with {args.cases} cases ...")
        generate_org(org_url, cases=args.cases, seed=3)
        sessions = open_app_store(app_url)
        with sessions() as session:
            accounts.add_user(session, "bench", "researcher", "bench-password")
        sessions.kw["bind"].dispose()
        options = ("--log-level", "warning", "--workers", str(args.workers))
        server = start_server_process(org_url, app_url, folder, extra_args=options)
        try:
            login = server.session().post(
                f"{server.base_url}/services/oauth2/token",
                data={"grant_type": "password", "username": "bench", "password": "bench-password"},
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            baseline, size = _in_process(org_url, args.requests)
            rows = [("in-process run_soql (baseline)", 1, baseline, sum(baseline))]
            for concurrency in (1, 16):
                latencies, elapsed, http_size = _over_http(server, token, args.requests, concurrency)
                assert http_size == size, (http_size, size)
                rows.append((f"HTTPS GET query, concurrency {concurrency}", concurrency, latencies, elapsed))
        finally:
            server.stop()
    base_p50 = statistics.median(baseline)
    table = Table(
        title=f"REST API ({args.workers} worker(s)) vs in-process engine: "
        f"{size} records per query, {args.cases}-case org"
    )
    base_rate = len(baseline) / sum(baseline)
    for column in ("path", "requests", "req/s", "req/s / baseline", "p50 ms", "p95 ms", "p50 / baseline p50"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, _concurrency, latencies, elapsed in rows:
        table.add_row(
            name,
            str(len(latencies)),
            f"{len(latencies) / elapsed:.1f}",
            f"{len(latencies) / elapsed / base_rate:.3f}x",
            f"{statistics.median(latencies) * 1000:.1f}",
            f"{_percentile(latencies, 0.95) * 1000:.1f}",
            f"{statistics.median(latencies) / base_p50:.2f}x",
        )
    console.print(table)
    console.print(f"Query: {QUERY}")


if __name__ == "__main__":
    main()
