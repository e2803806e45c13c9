"""Where the API's writes go: nowhere (read-only), a sandbox per token, or the shared org.

``serve`` is read-only by default. With ``--writable`` every access token gets its own
:class:`~crm_core.sandbox.Sandbox` on first use: its reads and writes see the org plus its own
changes, never another token's, and the org is never changed. ``--writable=shared`` writes to
the org itself (for loading data, e.g. ``org push``). Sandboxes live in the serving process
(one worker), at most :data:`MAX_SANDBOXES` at once; the least recently used is discarded first.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy import Connection, Engine

from crm_core.sandbox import Sandbox, SharedOrg, make_sandbox_engine, open_shared

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
        self._lock = threading.Lock()
        self._sandboxes: OrderedDict[str, Sandbox] = OrderedDict()
        self._engine = make_sandbox_engine(org_url) if mode == WriteMode.SANDBOX else None
        self._shared: SharedOrg | None = open_shared(org_url) if mode == WriteMode.SHARED else None

    @property
    def writable(self) -> bool:
        return self.mode != WriteMode.READ_ONLY

    def store(self, token_hash: str) -> Sandbox:
        """The sandbox (or shared org) that takes this token's writes."""
        if self._shared is not None:
            return self._shared
        assert self._engine is not None, "the API is read-only"
        with self._lock:
            box = self._sandboxes.get(token_hash)
            if box is None:
                box = self._sandboxes[token_hash] = Sandbox(self._engine)
                while len(self._sandboxes) > MAX_SANDBOXES:
                    _, oldest = self._sandboxes.popitem(last=False)
                    oldest.close()
            self._sandboxes.move_to_end(token_hash)
            return box

    @contextlib.contextmanager
    def reading(self, token_hash: str) -> Iterator[Connection]:
        """A connection that sees what this token may see (its sandbox, or the org)."""
        if self.mode != WriteMode.SANDBOX:
            with self.read_engine.connect() as conn:
                yield conn
            return
        box = self.store(token_hash)
        with box.lock:
            try:
                yield box.conn
            finally:
                box.release()

    def discard(self, token_hash: str) -> None:
        """Drop a token's sandbox (its changes are gone)."""
        with self._lock:
            box = self._sandboxes.pop(token_hash, None)
        if box is not None:
            box.close()

    def close(self) -> None:
        """Discard every sandbox and close the engines."""
        with self._lock:
            boxes, self._sandboxes = list(self._sandboxes.values()), OrderedDict()
        for box in boxes:
            box.close()
        if self._shared is not None:
            self._shared.close()
            self._shared.engine.dispose()
        if self._engine is not None:
            self._engine.dispose()
