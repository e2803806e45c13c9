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
import datetime as dt
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.testing.v1 import AppTest  # noqa: E402

from crm_core.db import make_readonly_engine  # noqa: E402
from crm_core.org.generator import generate_org  # noqa: E402
from crm_core.store import open_app_store  # noqa: E402
from crm_core.studio.explorer import ColumnFilter, SortOrder, list_records, load_record  # noqa: E402
from crm_core.studio.startup import org_state  # noqa: E402
from crm_core.users import add_user, get_user  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"
APP = Path(__file__).resolve().parents[1] / "app.py"
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


def page_renders(url: str, case_id: str, folder: Path) -> tuple[dict[str, Callable[[], object]], list[float]]:
    """The Org Explorer page run by AppTest through app.py (sign-in state set) as a researcher.

    Each call makes a fresh session: app.py's first run draws Home, then the switch to the Org
    Explorer is the run that is timed (what a click on a page costs the server)."""
    app_url = f"sqlite:///{folder / 'app.db'}"
    with open_app_store(app_url)() as session:
        if get_user(session, "bench") is None:
            add_user(session, "bench", "researcher", "bench-password")
    os.environ.update(CRM_ORG_DB=url, CRM_APP_DB=app_url, CRM_SECRETS_FILE=str(folder / "secrets.toml"))
    timings: list[float] = []

    def render(query: dict[str, str]) -> None:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state["authentication_status"] = True
        at.session_state["username"] = "bench"
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        at.switch_page("studio_pages/org_explorer.py")
        start = time.perf_counter()
        at.run()
        timings.append((time.perf_counter() - start) * 1000)
        if at.exception or at.error:
            raise RuntimeError(f"the page failed: {at.exception or [e.value for e in at.error]}")

    return {
        "page (AppTest): table of 50 Cases": lambda: render({"object": "Case"}),
        "page (AppTest): Case record view": lambda: render({"object": "Case", "id": case_id}),
    }, timings


def timed(run: Callable[[], object], reps: int, timings: list[float] | None = None) -> tuple[float, float]:
    """Median and max ms of `run` (after a warm-up); `timings`, when given, is what `run` measured itself."""
    run()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    if timings is not None:
        times = timings[-reps:]
    return statistics.median(times), max(times)


def measure(url: str, reps: int) -> dict[str, tuple[float, float]]:
    """Median and max milliseconds of each operation over `reps` runs (after one warm-up)."""
    engine = make_readonly_engine(url)
    with engine.connect() as conn:
        results = {name: timed(run, reps) for name, run in operations(conn).items()}
        case_id = conn.execute(text('SELECT "Id" FROM "Case" ORDER BY "CreatedDate" DESC LIMIT 1')).scalar_one()
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        renders, timings = page_renders(url, case_id, Path(folder))
        results |= {name: timed(run, reps, timings) for name, run in renders.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the large org (100k cases)")
    parser.add_argument("--xl", action="store_true", help="also the xl org (1M cases; generated once, a few GB)")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    for name in ("streamlit", "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)  # AppTest bare-mode warnings
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


# --- Part 2: Trajectory Replay and Results (studio part 2) ---------------------------------------
# .venv/bin/python bench/app.py results [--reps 5]
# Synthesizes, directly in a temporary app store, one 20-step act trajectory and 10 runs of 1,170
# episodes (records of realistic size: a 12 kB system prompt, 1-6 turns), then times the server
# side of each page (the page script run by Streamlit's AppTest, which is what a browser request
# costs the server) against an empty page measured in the same run. Targets: 1 s and 2 s.

REPLAY_TARGET_S = 1.0
DASHBOARD_TARGET_S = 2.0
RUNS, INSTANCES, STEPS = 10, 1170, 20


def _synthetic_episode(run_id: str, idx: int, turns: int, reward: float, rng: random.Random) -> dict[str, object]:
    """An act episode record of `turns` executes then a respond, with realistic message sizes."""
    from crm_core.agents.records import ActionRecord, EpisodeRecord, MessageRecord
    from crm_core.tasks.registry import task_specs

    spec = task_specs()[idx % len(task_specs())]
    task = spec.name
    when = dt.datetime(2026, 1, 1)
    messages = [
        MessageRecord(role="system", content="schema and rules " * 700),
        MessageRecord(role="user", content="q?"),
    ]
    actions = []
    for turn in range(1, turns):
        query = f"SELECT Id, OwnerId, CreatedDate FROM Case WHERE Status = 'Closed' LIMIT {turn}"
        observation = (
            "MALFORMED_QUERY: x" if rng.random() < 0.05 else json.dumps([{"Id": f"500{n:015d}"} for n in range(40)])
        )
        messages += [
            MessageRecord(role="assistant", content=f"<execute>{query}</execute>"),
            MessageRecord(role="user", content=observation),
        ]
        actions.append(ActionRecord(turn=turn, kind="execute", content=query, observation=observation))
    messages.append(MessageRecord(role="assistant", content="<respond>005A</respond>"))
    actions.append(ActionRecord(turn=turns, kind="respond", content="005A"))
    return EpisodeRecord(
        run_id=run_id, instance_idx=idx, task=task, persona=spec.persona, trial=0, framework="act",
        model=f"model-{run_id}", messages=messages, actions=actions, answer="005A", gold="005A", reward=reward,
        reward_normalized=reward, turns=turns, input_tokens=900 * turns, output_tokens=40 * turns,
        cost_usd=0.001 * turns, latency_s=1.0, end_reason="responded", started_at=when, finished_at=when,
    ).model_dump(mode="json")  # fmt: skip


def synthesize_runs(app_url: str) -> None:
    """10 runs of 1,170 episodes (instance 0 of ``run-0`` has 20 steps), inserted directly."""
    from sqlalchemy import insert

    from crm_core.store import open_app_store
    from crm_core.store.models import AgentEpisode, AgentRun

    rng = random.Random(7)
    store = open_app_store(app_url)
    when = dt.datetime(2026, 1, 1)
    plan = [(f"run-{n}", INSTANCES) for n in range(RUNS)]
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("synthesizing runs", total=RUNS * INSTANCES)
        with store.kw["bind"].begin() as conn:
            for run_id, count in plan:
                config = {
                    "run_id": run_id,
                    "framework": "act",
                    "model": f"model-{run_id}",
                    "tasks": [],
                    "created_at": when.isoformat(),
                }
                conn.execute(
                    insert(AgentRun),
                    [
                        {
                            "run_id": run_id,
                            "framework": "act",
                            "model": f"model-{run_id}",
                            "planned": count,
                            "config": config,
                            "created_at": when,
                        }
                    ],
                )
                rows = []
                for idx in range(count):
                    turns = STEPS if (run_id, idx) == ("run-0", 0) else rng.randint(1, 6)
                    record = _synthetic_episode(run_id, idx, turns, float(rng.random() < 0.4), rng)
                    rows.append(
                        {
                            key: record[key]
                            for key in (
                                "run_id",
                                "instance_idx",
                                "trial",
                                "task",
                                "persona",
                                "answer",
                                "reward",
                                "turns",
                                "input_tokens",
                                "output_tokens",
                                "cost_usd",
                                "latency_s",
                                "end_reason",
                            )
                        }
                        | {"record": record, "error": None, "finished_at": when}
                    )
                conn.execute(insert(AgentEpisode), rows)
                progress.update(bar, advance=count)
    store.kw["bind"].dispose()  # fmt: skip


def _page_seconds(script: str, reps: int, query: dict[str, str] | None = None) -> float:
    """Median seconds of a rerun of a page script (what a click costs the server), as a researcher.

    The page is run once to warm imports and caches, then rerun `reps` times in the same session.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(script, default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "rita"
    at.session_state["roles"] = ["researcher"]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{script}: {at.exception[0].message}")
    return statistics.median(times)


def results_main() -> None:
    """Time the replay of a 20-step trajectory and the dashboard over 10 runs of 1,170 episodes."""
    import os
    import tempfile

    from crm_core.agents.run_store import load_episodes
    from crm_core.scoring import compare
    from crm_core.store import open_app_store
    from crm_core.studio.dashboards import agent_outcomes, kept_runs, run_rows
    from crm_core.studio.replay import episode_trajectory

    parser = argparse.ArgumentParser(description="Server time of Trajectory Replay and Results")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        app_url = f"sqlite:///{Path(folder) / 'app.db'}"
        synthesize_runs(app_url)
        os.environ["CRM_APP_DB"] = app_url
        os.environ.setdefault("CRM_ORG_DB", f"sqlite:///{Path(folder) / 'org.db'}")
        empty = Path(folder) / "empty.py"
        empty.write_text("import streamlit as st\nst.title('empty')\n", encoding="utf-8")
        store = open_app_store(app_url)

        def logic_replay() -> object:
            return episode_trajectory(load_episodes(store, "run-0", instance_idx=0)[0])

        def logic_dashboard() -> object:
            return compare(agent_outcomes(store, [r.run_id for r in kept_runs(run_rows(store))]))

        logic = {}
        for name, call in (("replay", logic_replay), ("dashboard", logic_dashboard)):
            call()
            times = []
            for _ in range(args.reps):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            logic[name] = statistics.median(times)
        baseline = _page_seconds(str(empty), args.reps)
        replay = _page_seconds(str(root / "studio_pages/trajectory_replay.py"), args.reps, {"run": "run-0", "idx": "0"})
        dashboard = _page_seconds(str(root / "studio_pages/results.py"), args.reps)
        store.kw["bind"].dispose()
    table = Table(title=f"Studio part 2 server time, s (median of {args.reps}); ratio = page over an empty page")
    for column in ("page", "crm_core", "page rerun", "ratio", "target s", "verdict"):
        table.add_column(column, justify="left" if column == "page" else "right")
    table.add_row("empty page", "-", f"{baseline:.3f}", "1.00x", "-", "-")
    for name, label, seconds, target in (
        ("replay", f"replay, {STEPS} steps", replay, REPLAY_TARGET_S),
        ("dashboard", f"dashboard, {RUNS} x {INSTANCES:,}", dashboard, DASHBOARD_TARGET_S),
    ):
        verdict = "within" if seconds <= target else "OVER"
        table.add_row(
            label, f"{logic[name]:.3f}", f"{seconds:.3f}", f"{seconds / baseline:.1f}x", f"{target:.0f}", verdict
        )
    console.print(table)


if __name__ == "__main__":
    if sys.argv[1:2] == ["results"]:  # part 2: Trajectory Replay and Results
        sys.argv.pop(1)
        results_main()
    else:
        main()
