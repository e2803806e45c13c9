"""JSON responses written with orjson, the ``Sforce-Limit-Info`` header and the request-size limit.

Routes return :class:`SalesforceJSON` themselves: FastAPI would otherwise validate and re-encode
every record (about ten times slower for a 2,000-record batch).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DAILY_API_REQUESTS = 15000
MAX_URI_AND_HEADERS = 16_384
"""Salesforce refuses a request whose URI and headers together exceed this many bytes."""
USAGE_STATE_KEY = "api_usage"


class SalesforceJSON(Response):
    """A JSON body rendered with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class LimitInfoHeader:
    """ASGI middleware: ``Sforce-Limit-Info: api-usage=N/15000`` on authenticated responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                used = scope.get("state", {}).get(USAGE_STATE_KEY)
                if used is not None:
                    header = f"api-usage={used}/{DAILY_API_REQUESTS}".encode()
                    message["headers"] = [*message.get("headers", []), (b"sforce-limit-info", header)]
            await send(message)

        await self.app(scope, receive, send_with_header)


def _error_response(status: int, code: str, message: str) -> Response:
    return SalesforceJSON([{"message": message, "errorCode": code}], status_code=status)


def oversized_request(scope: Scope) -> Response | None:
    """Salesforce's answer to a request whose URI and headers exceed 16,384 bytes, or None.

    The URI alone over the limit is ``414 URI Too Long``; URI and headers together over it are
    ``431 Request Header Fields Too Large``. Sizes count bytes as they travel: the path as sent,
    ``?`` and the query string, and each header line (name, ``: ``, value, CRLF).
    """
    query = scope.get("query_string", b"")
    uri = len(scope.get("raw_path") or scope["path"].encode()) + (len(query) + 1 if query else 0)
    if uri > MAX_URI_AND_HEADERS:
        return _error_response(
            414,
            "URI_TOO_LONG",
            f"The request URI is {uri:,} bytes; URI and headers may be at most {MAX_URI_AND_HEADERS:,} bytes. "
            "Shorten the query (for example, split a long IN list) or send it in a composite request's body.",
        )
    headers = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
    if uri + headers > MAX_URI_AND_HEADERS:
        return _error_response(
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            f"The request URI and headers are {uri + headers:,} bytes; "
            f"at most {MAX_URI_AND_HEADERS:,} bytes are accepted.",
        )
    return None


class RequestSizeLimit:
    """ASGI middleware: refuse oversized requests as Salesforce does (see :func:`oversized_request`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = oversized_request(scope) if scope["type"] == "http" else None
        if refused is None:
            await self.app(scope, receive, send)
        else:
            await refused(scope, receive, send)
