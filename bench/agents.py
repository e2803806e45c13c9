"""Benchmark of the agent harness: overhead per turn and throughput under concurrency.

1. Overhead: a zero-latency chat model plays episodes at concurrency 1. The baseline is the bare
   ``ainvoke`` of the same model on the same growing conversations, measured in the same run; the
   harness's overhead per turn is the difference (parsing, feedback messages, records, usage and
   cost bookkeeping). Measured for invalid turns (no tool runs) and for turns that run a SOQL
   query on the tiny org (the query's own time shown separately).
2. Throughput: a model that waits 500 ms per reply plays two-turn episodes (one query, then
   respond), stored in a SQLite app store, at concurrency 1, 8 and 32; the ratio is against
   concurrency 1 measured in the same run.
3. Sandbox cost: one workflow episode's sandbox life -- create, first write (a case's owner and
   status through the write layer, with its history row), diff, discard -- on orgs of several
   scales (and on PostgreSQL with ``--pg-url``); the baseline is one read-only SOQL lookup by Id on
   the same org in the same run, and the ratio to the smallest scale shows whether it is flat.

    .venv/bin/python -m bench.agents [--delay 0.5] [--seconds 4] [--sandbox-scales tiny,default] [--pg-url URL]
    .venv/bin/python -m bench.agents --only sandbox

Targets: overhead <= 5 ms per turn; throughput at concurrency 32 >= 20x concurrency 1; a sandbox
cycle <= 20 ms at ``default`` and flat in org size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from rich.console import Console
from rich.table import Table

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.episode import run_episode
from crm_core.agents.frameworks import make_framework
from crm_core.agents.models import EpisodeContext, ModelSource
from crm_core.agents.offline import ScriptedChatModel
from crm_core.agents.records import RunRecord
from crm_core.agents.run_store import save_run
from crm_core.agents.runner import run_pending
from crm_core.org.generator import generate_org
from crm_core.store.engine import open_app_store
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.records import TaskInstance

QUERY = "SELECT Id, Name FROM User LIMIT 1"


class BenchModel(ScriptedChatModel):
    """Waits `delay_s` per reply; `mode` "invalid" never acts, "query" queries once then responds."""

    delay_s: float = 0.0
    mode: str = "query"

    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        if self.mode == "invalid":
            return AIMessage(content="Let me think about it.")
        return self.execute(QUERY) if turn == 1 else self.respond("None", turn)

    async def aprepare_reply(self) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)


class BenchSource(ModelSource):
    def __init__(self, delay_s: float, mode: str) -> None:
        self.spec = f"bench:{mode}:{delay_s}"
        self.delay_s, self.mode = delay_s, mode

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        return BenchModel(framework=episode.framework.name, delay_s=self.delay_s, mode=self.mode)


def _bare_calls(model: BaseChatModel, turns: int, episodes: int) -> float:
    """Seconds for the bare ainvoke calls an episode of `turns` makes, `episodes` times."""

    async def go() -> None:
        for _ in range(episodes):
            messages: list[BaseMessage] = [SystemMessage("s" * 10_000), HumanMessage("q")]
            for _ in range(turns):
                reply = await model.ainvoke(messages)
                messages += [reply, HumanMessage("Invalid output format!")]

    start = time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - start


def _episodes(
    env: OrgEnvironment, instance: TaskInstance, mode: str, episodes: int, max_turns: int
) -> tuple[float, int]:
    framework = make_framework("act", env.tool_schemas)
    source = BenchSource(0.0, mode)

    async def go() -> int:
        turns = 0
        for trial in range(episodes):
            record = await run_episode(
                source, EpisodeContext("bench", instance, trial, framework, env), max_turns=max_turns
            )
            turns += record.turns
        return turns

    start = time.perf_counter()
    turns = asyncio.run(go())
    return time.perf_counter() - start, turns


def _query_time(env: OrgEnvironment, count: int) -> float:
    from crm_core.agents.records import ActionRecord

    action = ActionRecord(turn=1, kind="execute", content=QUERY)
    start = time.perf_counter()
    for _ in range(count):
        env.perform(action)
    return (time.perf_counter() - start) / count


def overhead(env: OrgEnvironment, instance: TaskInstance, console: Console) -> None:
    episodes, max_turns = 30, 20
    _episodes(env, instance, "invalid", 2, max_turns)  # warm-up
    harness_s, turns = _episodes(env, instance, "invalid", episodes, max_turns)
    bare_s = _bare_calls(BenchModel(framework="act", mode="invalid"), max_turns, episodes)
    query_harness_s, query_turns = _episodes(env, instance, "query", 200, max_turns)
    bare_query_s = _bare_calls(BenchModel(framework="act", mode="query"), 2, 200)
    per_query = _query_time(env, 200)

    table = Table("turns", "bare ainvoke ms/turn", "harness ms/turn", "overhead ms/turn", "ratio to bare", "target")
    bare, full = 1000 * bare_s / turns, 1000 * harness_s / turns
    table.add_row(
        "invalid (no tool)", f"{bare:.3f}", f"{full:.3f}", f"{full - bare:.3f}", f"{full / bare:.2f}x", "<= 5 ms"
    )
    bare_q, full_q = 1000 * bare_query_s / query_turns, 1000 * query_harness_s / query_turns
    tool = 1000 * per_query / 2  # one query per two-turn episode
    table.add_row(
        "query + respond",
        f"{bare_q:.3f}",
        f"{full_q:.3f}",
        f"{full_q - bare_q - tool:.3f} (+ {tool:.3f} query)",
        f"{full_q / bare_q:.2f}x",
        "<= 5 ms",
    )
    console.print("[bold]Harness overhead per turn (zero-latency model, concurrency 1)[/bold]")
    console.print(table)


def throughput(
    env: OrgEnvironment, instances: list[TaskInstance], delay_s: float, seconds: float, console: Console
) -> None:
    framework = make_framework("act", env.tool_schemas)
    table = Table("concurrency", "episodes", "seconds", "episodes/s", "ratio to concurrency 1", "target")
    with tempfile.TemporaryDirectory() as folder:
        store = open_app_store(f"sqlite:///{Path(folder) / 'app.db'}")
        baseline = None
        for concurrency in (1, 8, 32):
            # enough two-turn episodes for about `seconds` at ideal scaling
            count = max(concurrency, int(seconds / (2 * delay_s)) * concurrency)
            trials = -(-count // len(instances))
            run = RunRecord(
                run_id=f"bench-{concurrency}",
                framework="act",
                model="bench",
                tasks=sorted({i.task for i in instances}),
                trials=trials,
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
            save_run(store, run, planned=len(instances) * trials)
            pending = [(i, t) for t in range(trials) for i in instances][:count]
            start = time.perf_counter()
            asyncio.run(
                run_pending(
                    run,
                    pending,
                    source=BenchSource(delay_s, "query"),
                    framework=framework,
                    env=env,
                    store=store,
                    concurrency=concurrency,
                )
            )
            elapsed = time.perf_counter() - start
            rate = count / elapsed
            baseline = baseline or rate
            target = ">= 20x" if concurrency == 32 else ""
            table.add_row(
                str(concurrency), str(count), f"{elapsed:.2f}", f"{rate:.2f}", f"{rate / baseline:.1f}x", target
            )
        store.kw["bind"].dispose()
    console.print(f"[bold]Throughput with a model that waits {1000 * delay_s:.0f} ms per reply[/bold]")
    console.print(table)


def _sandbox_cycles(org_url: str, reps: int) -> tuple[list[float], list[float]]:
    """Milliseconds of `reps` sandbox cycles and of `reps` read-only lookups (the baseline)."""
    from crm_core.db import make_readonly_engine
    from crm_core.query import run_soql
    from crm_core.sandbox import Sandbox, make_sandbox_engine
    from crm_core.writes import update_record

    engine, readonly = make_sandbox_engine(org_url), make_readonly_engine(org_url)
    with readonly.connect() as conn:
        cases = run_soql(conn, "SELECT Id, OwnerId FROM Case WHERE Status != 'Closed' ORDER BY Id LIMIT 20")["records"]
        agents = [r["Id"] for r in run_soql(conn, "SELECT Id FROM User ORDER BY Id LIMIT 2")["records"]]
    cycles, lookups = [], []
    for rep in range(reps + 3):  # three warm-up cycles
        case = cases[rep % len(cases)]
        owner = agents[0] if case["OwnerId"] != agents[0] else agents[1]
        start = time.perf_counter()
        box = Sandbox(engine)
        update_record(box, "Case", case["Id"], {"OwnerId": owner, "Status": "Escalated"})
        changes = box.diff()
        box.close()
        elapsed = time.perf_counter() - start
        assert len(changes) == 2, changes  # the case and its Owner Assignment row
        start = time.perf_counter()
        with readonly.connect() as conn:
            run_soql(conn, f"SELECT Id, Status FROM Case WHERE Id = '{case['Id']}'")
        if rep >= 3:
            cycles.append(1000 * elapsed)
            lookups.append(1000 * (time.perf_counter() - start))
    engine.dispose()
    readonly.dispose()
    return cycles, lookups


def sandbox_cost(folder: Path, scales: list[str], pg_url: str | None, reps: int, console: Console) -> None:
    """Sandbox create + first write + diff + discard per org scale (and database)."""
    import statistics

    table = Table("org", "cases", "cycle median ms", "cycle p95 ms", "lookup median ms", "ratio to lookup",
                  "ratio to smallest", "target")  # fmt: skip
    targets = [(f"sqlite {scale}", f"sqlite:///{folder / f'sandbox_{scale}.db'}", scale) for scale in scales]
    if pg_url:
        targets += [(f"postgresql {scale}", pg_url, scale) for scale in scales]
    smallest: dict[str, float] = {}
    for label, url, scale in targets:
        with console.status(f"Generating the {scale} org for {label} ..."):
            generate_org(url, scale=scale, seed=7, force=True)
        from crm_core.db import make_readonly_engine
        from crm_core.query import run_soql

        counter = make_readonly_engine(url)
        with counter.connect() as conn:
            total = run_soql(conn, "SELECT COUNT() FROM Case")["totalSize"]
        counter.dispose()
        cycles, lookups = _sandbox_cycles(url, reps)
        median = statistics.median(cycles)
        p95 = sorted(cycles)[int(0.95 * (len(cycles) - 1))]
        lookup = statistics.median(lookups)
        database = label.split()[0]
        smallest.setdefault(database, median)
        table.add_row(label, f"{total:,}", f"{median:.2f}", f"{p95:.2f}", f"{lookup:.2f}", f"{median / lookup:.1f}x",
                      f"{median / smallest[database]:.2f}x", "<= 20 ms at default")  # fmt: skip
    console.print(f"[bold]Sandbox cost: create, first write, diff, discard ({reps} cycles each)[/bold]")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the slow model waits per reply")
    parser.add_argument("--seconds", type=float, default=4.0, help="about how long each throughput level runs")
    parser.add_argument("--sandbox-scales", default="tiny,default", help="org scales of the sandbox cost rows")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database for the sandbox rows (each scale in turn)")
    parser.add_argument("--sandbox-reps", type=int, default=200, help="sandbox cycles per org")
    parser.add_argument("--only", choices=["harness", "sandbox"], help="run one part only")
    args = parser.parse_args()
    console = Console(width=120)
    if args.only != "harness":
        with tempfile.TemporaryDirectory() as folder:
            scales = [scale.strip() for scale in args.sandbox_scales.split(",") if scale.strip()]
            sandbox_cost(Path(folder), scales, args.pg_url, args.sandbox_reps, console)
    if args.only == "sandbox":
        return
    with tempfile.TemporaryDirectory() as folder:
        org_url = f"sqlite:///{Path(folder) / 'org.db'}"
        with console.status("Generating a tiny org ..."):
            generate_org(org_url, scale="tiny", seed=7)
            instances = generate_tasks(org_url, per_task=2)
        env = OrgEnvironment.open(org_url)
        overhead(env, instances[0], console)
        throughput(env, instances, args.delay, args.seconds, console)
        env.engine.dispose()


if __name__ == "__main__":
    main()
