"""A run started from synchronous code finishes even where an event loop already runs."""

from __future__ import annotations

import asyncio

from crm_core.agents.runner import run_to_end


async def _answer() -> int:
    await asyncio.sleep(0)
    return 7


def test_without_a_running_loop() -> None:
    assert run_to_end(_answer()) == 7


def test_inside_a_running_loop_as_in_a_notebook() -> None:
    async def notebook_cell() -> int:
        return run_to_end(_answer())  # asyncio.run would refuse here

    assert asyncio.run(notebook_cell()) == 7
