"""A local HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

Tests point the real ``langchain-openai`` client (``ChatOpenAI(base_url=...)``) at it. A script
is a function from the request body to a reply: text, tool calls, or an HTTP error status (to
exercise the harness's retries); :func:`flaky` makes any script answer 429 and 500 at a set rate.
Every request body and its arrival time are kept for assertions. Run as a program
(``python tests/agents/openai_server.py --port P --delay-ms 500``) it serves a model that responds
at once, after the delay, for benchmarks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Reply:
    """One scripted assistant reply: text and/or tool calls (``arguments`` is raw JSON text)."""

    content: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7
    usage: bool = True
    hold: threading.Event | None = None
    """When set, the reply waits (at most a minute) until the test sets this event: a model that
    answers when the test lets it, whatever the machine's load."""


Script = Callable[[dict[str, Any]], Reply]


@dataclass
class ServerHandle:
    """A running server: its base URL, the request bodies it received, and the most requests it
    was answering at the same time."""

    base_url: str
    requests: list[dict[str, Any]]
    load: dict[str, int]
    times: list[float] = field(default_factory=list)
    """`time.monotonic()` at each request's arrival, errors included."""

    @property
    def max_in_flight(self) -> int:
        return self.load["max"]

    def busiest(self, window_s: float) -> int:
        """The most requests that arrived within any `window_s` seconds (a rolling window)."""
        times = sorted(self.times)
        return max((sum(1 for t in times[i:] if t < start + window_s) for i, start in enumerate(times)), default=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flaky(script: Script, rate: float, seed: int = 0) -> Script:
    """`script`, except that a share `rate` of the requests get 429 or 500 (alternating) instead."""
    draw = random.Random(seed)
    statuses = itertools.cycle((429, 500))

    def answer(body: dict[str, Any]) -> Reply:
        if draw.random() < rate:
            return Reply(status=next(statuses))
        return script(body)

    return answer


def make_app(
    script: Script, requests: list[dict[str, Any]], load: dict[str, int], times: list[float] | None = None
) -> FastAPI:
    """The FastAPI app: ``POST /v1/chat/completions`` answered by `script`."""
    app = FastAPI()
    ids = itertools.count(1)

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        if times is not None:
            times.append(time.monotonic())
        body = await request.json()
        requests.append(body)
        reply = script(body)
        load["now"] += 1
        load["max"] = max(load["max"], load["now"])
        try:
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.hold is not None:
                await asyncio.to_thread(reply.hold.wait, 60)
        finally:
            load["now"] -= 1
        if reply.status != 200:
            error = {"error": {"message": f"scripted status {reply.status}", "type": "rate_limit", "code": None}}
            return JSONResponse(error, status_code=reply.status, headers={"retry-after-ms": "10"})
        n = next(ids)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{n}_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
                for i, (name, arguments) in enumerate(reply.tool_calls)
            ]
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }
        return JSONResponse(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
                ],
                **({"usage": usage} if reply.usage else {}),
            }
        )

    return app


@contextmanager
def openai_server(script: Script) -> Iterator[ServerHandle]:
    """Serve `script` on 127.0.0.1 in a background thread for the duration of the block."""
    requests: list[dict[str, Any]] = []
    load = {"now": 0, "max": 0}
    times: list[float] = []
    port = _free_port()
    config = uvicorn.Config(make_app(script, requests, load, times), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the scripted OpenAI server did not start")
        time.sleep(0.02)
    try:
        yield ServerHandle(base_url=f"http://127.0.0.1:{port}/v1", requests=requests, load=load, times=times)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def last_message(body: dict[str, Any]) -> dict[str, Any]:
    """The last message of a request."""
    return body["messages"][-1]


def count_assistant_turns(body: dict[str, Any]) -> int:
    """How many assistant messages the request's conversation already has."""
    return sum(1 for m in body["messages"] if m["role"] == "assistant")


def tool_arguments(arguments: dict[str, Any]) -> str:
    """Tool-call arguments as the protocol sends them (a JSON string)."""
    return json.dumps(arguments)


def answer_at_once(delay_s: float) -> Script:
    """A model that responds "None" on its first turn, after `delay_s` (tool call or tag alike)."""

    def script(body: dict[str, Any]) -> Reply:
        if body.get("tools"):
            return Reply(tool_calls=[("respond", json.dumps({"content": "None"}))], delay_s=delay_s)
        return Reply(content="<respond>None</respond>", delay_s=delay_s)

    return script


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A local OpenAI-protocol model that answers at once after a delay.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=500.0)
    options = parser.parse_args()
    app = make_app(answer_at_once(options.delay_ms / 1000), [], {"now": 0, "max": 0})
    uvicorn.run(app, host="127.0.0.1", port=options.port, log_level="warning")
