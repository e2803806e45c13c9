"""The server's HTTP/1.1 protocol: uvicorn's h11 protocol, except how an idle connection ends.

On shutdown uvicorn closes each idle keep-alive connection and waits until every one is gone. Over
TLS a close waits for the client's ``close_notify``, which an idle client (a simple-salesforce
session left open in a notebook) never sends: asyncio gives up only after 30 s, so the server took
30 s to stop on Ctrl-C or SIGTERM. Here an idle connection is dropped at once; a connection with a
request in flight still finishes its response first, as uvicorn does.
"""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol


class PromptShutdownH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that drops an idle connection at shutdown instead of awaiting the client."""

    def shutdown(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        super().shutdown()
        if idle:
            self.transport.abort()
