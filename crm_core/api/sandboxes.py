"""Where the API's writes go: nowhere (read-only), a sandbox per token, or the shared org.

``serve`` is read-only by default. With ``--writable`` every access token gets its own
:class:`~crm_core.sandbox.Sandbox` on first use: its reads and writes see the org plus its own
changes, never another token's, and the org is never changed. ``--writable=shared`` writes to
the org itself (for loading data, e.g. ``org push``). Sandboxes live in the serving process
(one worker), at most :data:`MAX_SANDBOXES` at once; the least recently used is discarded first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy import Connection, Engine

from crm_core.sandbox import Sandbox, SandboxPool, SharedOrg, open_shared

MAX_SANDBOXES = 256


class WriteMode(StrEnum):
    """What ``serve --writable`` chose."""

    READ_ONLY = "no"
    SANDBOX = "sandbox"
    SHARED = "shared"


class TokenSandboxes:
    """The write target of each token (a sandbox, or the one shared org), and reads through it."""

    def __init__(self, org_url: str, mode: WriteMode, read_engine: Engine) -> None:
        self.mode = mode
        self.read_engine = read_engine
        self._pool = SandboxPool(org_url, MAX_SANDBOXES) if mode == WriteMode.SANDBOX else None
        self._shared: SharedOrg | None = open_shared(org_url) if mode == WriteMode.SHARED else None

    @property
    def writable(self) -> bool:
        return self.mode != WriteMode.READ_ONLY

    def store(self, token_hash: str) -> Sandbox:
        """The sandbox (or shared org) that takes this token's writes."""
        if self._shared is not None:
            return self._shared
        assert self._pool is not None, "the API is read-only"
        return self._pool.get(token_hash)

    @contextlib.contextmanager
    def reading(self, token_hash: str) -> Iterator[Connection]:
        """A connection that sees what this token may see (its sandbox, or the org)."""
        if self.mode != WriteMode.SANDBOX:
            with self.read_engine.connect() as conn:
                yield conn
            return
        with self.store(token_hash).using() as conn:
            yield conn

    def discard(self, token_hash: str) -> None:
        """Drop a token's sandbox (its changes are gone)."""
        if self._pool is not None:
            self._pool.discard(token_hash)

    def close(self) -> None:
        """Discard every sandbox and close the engines."""
        if self._pool is not None:
            self._pool.close()
        if self._shared is not None:
            self._shared.close()
            self._shared.engine.dispose()
