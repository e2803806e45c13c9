"""Running a sweep in this process (``sweep submit --run-here``, ``sweep resume``): the same
claim, play and store steps as the queue workers, over the sweep's queued episodes.

Episodes a killed process left ``running`` are queued again first: an in-process sweep has no
other worker that could be playing them (and an episode played twice is still stored once). The
sweep's runs are prepared before the first episode, as a worker does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord
from crm_core.errors import error_line
from crm_core.sweeps.player import SweepPlayer
from crm_core.sweeps.store import EpisodeKey, queued_keys, release_episode, reset_running

ATTEMPTS = 3
"""Attempts of an episode whose play failed outside the model (org unreachable, ...)."""

OnEpisode = Callable[[EpisodeKey, EpisodeRecord | None], None]


def run_here(
    store: sessionmaker[Session],
    sweep_id: str,
    *,
    concurrency: int = 4,
    on_start: Callable[[int], None] | None = None,
    on_episode: OnEpisode | None = None,
    backoff_s: float = 1.0,
) -> int:
    """Play the sweep's queued episodes here, `concurrency` at a time; returns how many were played.

    `on_start` gets the number of episodes to play once the runs are prepared, as they start.
    """
    reset_running(store, sweep_id)
    keys = queued_keys(store, sweep_id)
    player = SweepPlayer(store)
    played = 0

    async def one(key: EpisodeKey, slots: asyncio.Semaphore) -> None:
        nonlocal played
        record = None
        async with slots:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    record = await player.play(key)
                    break
                except Exception as exc:
                    final = attempt == ATTEMPTS
                    await asyncio.to_thread(release_episode, store, key, error_line(exc), final=final)
                    if not final:
                        await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
        played += record is not None
        if on_episode is not None:
            on_episode(key, record)

    async def main() -> None:
        await player.prepare_open_runs(sweep_id)
        if on_start is not None:
            on_start(len(keys))
        slots = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(one(key, slots) for key in keys))

    try:
        asyncio.run(main())
    finally:
        player.close()
    return played
