"""The Sweeps page's logic (no Streamlit): sweep files to start from, starting a sweep in the
background, and the tables of its progress.

On a PostgreSQL app store a started sweep is queued for the workers (``python -m crm_core
worker``); on SQLite the studio starts ``python -m crm_core sweep resume ID`` as a process of its
own, so the sweep goes on whatever the browser does (closing the tab, other pages, reloads).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import is_sqlite, sqlite_path
from crm_core.policy import Action, PermissionDenied, can
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.queue import defer_episodes
from crm_core.sweeps.store import SweepStatus, cancel_sweep, list_sweeps, sweep_status
from crm_core.sweeps.submit import Progress, submit

ROOT = Path(__file__).resolve().parents[2]
REFRESH_SECONDS = 2.0
"""How often the Sweeps page redraws itself while a sweep plays."""
SWEEP_FOLDER = ROOT / "sweeps"


def sweep_files(folder: Path = SWEEP_FOLDER) -> dict[str, str]:
    """The shipped sweep files, name → text (a starting point the researcher may edit)."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.yaml"))}


def start_sweep(
    store: sessionmaker[Session],
    app_url: str,
    role: str | None,
    username: str,
    text: str,
    source: str,
    progress: Progress | None = None,
) -> str:
    """Validate and submit sweep YAML `text`, then have it played in the background; the sweep id.

    Raises :class:`PermissionDenied` for a role without ``run_sweeps`` and a one-line
    :class:`UserFacingError` (file, line, field) for a bad file.
    """
    if not can(role, Action.RUN_SWEEPS):
        raise PermissionDenied("your role cannot start sweeps")
    definition = parse_sweep(text, source)
    queued = not is_sqlite(app_url)
    sweep_id, keys = submit(
        store, definition, source=source, backend="queue" if queued else "local", created_by=username, progress=progress
    )
    if queued:
        asyncio.run(defer_episodes(app_url, keys))
    else:
        play_in_background(sweep_id, app_url)
    return sweep_id


def log_file(sweep_id: str, app_url: str) -> Path:
    """The log of a sweep the studio plays: ``sweep-logs/SWEEP_ID.log`` beside the SQLite app
    store (``data/sweep-logs/`` for the default ``data/app.db``; not ``sweeps/``, the folder of
    the shipped sweep files when the store sits in the checkout's root)."""
    store_file = sqlite_path(app_url)
    folder = store_file.parent if store_file is not None else Path("data")
    return folder / "sweep-logs" / f"{sweep_id}.log"


def play_in_background(sweep_id: str, app_url: str) -> subprocess.Popen[bytes]:
    """Start ``python -m crm_core sweep resume SWEEP_ID`` detached from this process."""
    path = log_file(sweep_id, app_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.open("ab")
    command = [sys.executable, "-m", "crm_core", "sweep", "resume", sweep_id, "--app-db", app_url]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        command, cwd=Path.cwd(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def cancel(store: sessionmaker[Session], role: str | None, sweep_id: str) -> int:
    """Cancel a sweep on a researcher's behalf; returns the queued episodes that will not run."""
    if not can(role, Action.RUN_SWEEPS):
        raise PermissionDenied("your role cannot cancel sweeps")
    return cancel_sweep(store, sweep_id)


@dataclass(frozen=True)
class SweepsOverview:
    """The Sweeps page's list: one row per sweep, newest first (name, who started it, status,
    progress, cost), and whether any sweep still has episodes queued or running."""

    frame: pd.DataFrame
    playing: bool


def sweeps_overview(store: sessionmaker[Session]) -> SweepsOverview:
    """Every sweep's row and whether one still plays (the page redraws itself only then)."""
    rows = []
    playing = False
    for sweep in list_sweeps(store):
        status = sweep_status(store, sweep.sweep_id)
        playing = playing or status.counts["queued"] + status.counts["running"] > 0
        rows.append(
            {
                "sweep": sweep.name,
                "id": sweep.sweep_id,
                "started by": sweep.created_by or "command line",
                "status": status.status,
                "done": f"{status.counts['done'] + status.counts['failed']} / {status.planned}",
                "failed": status.counts["failed"],
                "cost $": f"{status.cost_usd:.4f}",
                "created (UTC)": f"{sweep.created_at:%Y-%m-%d %H:%M}",
            }
        )
    return SweepsOverview(pd.DataFrame(rows), playing)


def counts_frame(status: SweepStatus) -> pd.DataFrame:
    """Episodes per state (one row)."""
    return pd.DataFrame([status.counts])


def models_frame(status: SweepStatus) -> pd.DataFrame:
    """Per model: done, failed, planned and episodes per minute."""
    return pd.DataFrame(
        [
            {
                "model": m.model,
                "done": m.done,
                "failed": m.failed,
                "planned": m.planned,
                "episodes / min": "—" if m.episodes_per_minute is None else f"{m.episodes_per_minute:.1f}",
            }
            for m in status.models
        ]
    )


def runs_frame(status: SweepStatus) -> pd.DataFrame:
    """Per run (model · framework, after the org variant): episodes per state, cost, throughput."""
    return pd.DataFrame(
        [
            {
                "run": run.label,
                **{state: run.counts[state] for state in ("queued", "running", "done", "failed")},
                "cost $": run.cost_text,
                "episodes / min": "—" if run.episodes_per_minute is None else f"{run.episodes_per_minute:.1f}",
            }
            for run in status.per_run
        ]
    )


def finished_share(status: SweepStatus) -> float:
    """The share of planned episodes that ended one way or another (for a progress bar)."""
    ended = status.planned - status.counts["queued"] - status.counts["running"]
    return ended / status.planned if status.planned else 1.0


def workers_online(store: sessionmaker[Session], app_url: str, within_s: float = 60.0) -> int | None:
    """Queue workers with a heartbeat in the last `within_s` seconds (None on SQLite: no workers)."""
    if is_sqlite(app_url):
        return None
    query = text(
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :within)"
    )
    with store() as session:
        return int(session.execute(query, {"within": within_s}).scalar_one())
