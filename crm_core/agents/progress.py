"""What a run reports while it plays (:class:`RunProgress`); light to import, for front ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm_core.agents.records import ActionRecord, EpisodeRecord, RunRecord


class RunProgress:
    """Hooks of a run, each a no-op here: a front end (rich bar, studio page, sweep) overrides
    the ones it shows.

    `started` and `episode` are called from the run's event loop, `action` from a worker
    thread: keep them quick.
    """

    def started(self, run: RunRecord, planned: int, pending: int) -> None:
        """The plan: `planned` episodes in all, `pending` of them still to play."""

    def action(self, action: ActionRecord) -> None:
        """An agent is about to perform `action` (a query or a tool call) on the org."""

    def episode(self, episode: EpisodeRecord, saved: bool) -> None:
        """An episode finished and was stored (`saved` False: it already was)."""
