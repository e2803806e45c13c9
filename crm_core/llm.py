"""Chat models named ``provider:model`` through LangChain: the factory, prices, retries.

Used by the agents (:mod:`crm_core.agents.models`) and by the org's optional text pass
(:mod:`crm_core.org.text_pass`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from crm_core.errors import UserFacingError, first_line

PRICES_ENV = "CRM_PRICES"
_TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_TRANSIENT_NAMES = ("ratelimit", "timeout", "overloaded", "apiconnection", "serviceunavailable")


class Price(BaseModel):
    """US dollars per million input and output tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class PriceTable(BaseModel):
    """Prices by ``provider:model``; ``provider:*`` prices every model of a provider."""

    prices: dict[str, Price]

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """The cost of a call in US dollars, or None when the model has no price."""
        price = self.prices.get(model) or self.prices.get(model.split(":", 1)[0] + ":*")
        if price is None:
            return None
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The price table from `path`, else ``CRM_PRICES``, else the one shipped with the project."""
    source = path or os.environ.get(PRICES_ENV)
    if source:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserFacingError(f"cannot read the price table {source}: {exc.strerror}") from None
        name = str(source)
    else:
        text = resources.files("crm_core.agents").joinpath("data/prices.json").read_text(encoding="utf-8")
        name = "prices.json"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserFacingError(f"{name} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise UserFacingError(f"{name}: expected an object of model -> {{input, output}} prices")
    try:
        return PriceTable(prices={k: v for k, v in raw.items() if not k.startswith("_")})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise UserFacingError(f"{name}: model {where}: {first['msg']}") from None


def is_transient(exc: BaseException) -> bool:
    """Whether a model call failed for a reason worth retrying (rate limit, timeout, overload)."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status in _TRANSIENT_STATUS:
        return True
    name = type(exc).__name__.lower()
    return any(part in name for part in _TRANSIENT_NAMES)


def retry_after_s(exc: BaseException | None) -> float | None:
    """The wait a server asked for in an error response's headers, in seconds (None if none)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


class RetryPolicy(BaseModel):
    """Retries of a model call on transient errors, with jittered exponential backoff."""

    attempts: int = Field(default=6, ge=1)
    initial_wait_s: float = Field(default=1.0, ge=0)
    max_wait_s: float = Field(default=60.0, ge=0)


BeforeCall = Callable[[], Awaitable[None]]
"""Awaited before every attempt of a model call (a shared requests-per-minute limit waits here)."""


async def invoke_with_retry(
    runnable: Runnable[LanguageModelInput, BaseMessage],
    messages: Sequence[BaseMessage],
    policy: RetryPolicy,
    before_call: BeforeCall | None = None,
) -> AIMessage:
    """Call the model, retrying rate limits and timeouts; other errors propagate at once.

    Waits grow exponentially with jitter, and are at least what the server asked for in its
    ``Retry-After`` / ``retry-after-ms`` header (capped at the policy's longest wait). Every
    attempt, retries included, first awaits `before_call`.
    """
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_wait_s, max=policy.max_wait_s, jitter=policy.initial_wait_s
    )

    def wait(state: RetryCallState) -> float:
        asked = retry_after_s(state.outcome.exception()) if state.outcome is not None else None
        return min(policy.max_wait_s, max(backoff(state), asked or 0.0))

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(is_transient),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            if before_call is not None:
                await before_call()
            reply = await runnable.ainvoke(list(messages))
    if not isinstance(reply, AIMessage):
        raise TypeError(f"the model returned a {type(reply).__name__}, not an AI message")
    return reply


_CLIENT_PROVIDERS = frozenset(
    {"openai", "azure_openai", "anthropic", "mistralai", "groq", "deepseek", "xai", "fireworks", "together"}
)
"""Providers whose LangChain models take ``max_tokens``, ``timeout`` and ``max_retries``."""


def make_chat_model(
    spec: str, *, base_url: str | None = None, max_tokens: int = 2000, timeout_s: float = 120.0, **kwargs: Any
) -> BaseChatModel:
    """A LangChain chat model from ``provider:model`` at temperature 0; keys come from the environment.

    The output limit is passed under each provider's own name (other providers keep theirs).
    Retries are the harness's own (:func:`invoke_with_retry`), so the provider's are turned off
    where the provider has them.
    """
    from langchain.chat_models import init_chat_model

    provider = spec.split(":", 1)[0] if ":" in spec else None
    options: dict[str, Any] = {"temperature": 0}
    if provider is None or provider in _CLIENT_PROVIDERS:
        options.update(max_tokens=max_tokens, timeout=timeout_s, max_retries=0)
    elif provider == "ollama":
        options["num_predict"] = max_tokens
    elif provider in {"google_genai", "google_vertexai"}:
        options["max_output_tokens"] = max_tokens
    options.update(kwargs)
    if base_url:
        options["base_url"] = base_url
        if provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            options.setdefault("api_key", "not-needed")  # local OpenAI-compatible servers take any key
    try:
        return init_chat_model(spec, **options)
    except ImportError as exc:
        raise UserFacingError(f"model {spec!r}: {first_line(exc)}") from None
    except ValueError as exc:
        raise UserFacingError(f"model {spec!r}: {first_line(exc)}") from None
    except Exception as exc:  # provider clients fail on missing keys with their own error types
        raise UserFacingError(f"model {spec!r}: {type(exc).__name__}: {first_line(exc)}") from None


def own_http_client(spec: str, timeout_s: float) -> dict[str, Any]:
    """Options giving a model made inside a running event loop an async HTTP client of its own.

    langchain-openai caches its async HTTP client process-wide, bound to the loop that first used
    it, so a model made in a second ``asyncio.run`` would reuse a client of a closed loop.
    """
    if spec.split(":", 1)[0] in {"openai", "azure_openai"}:
        return {"http_async_client": httpx.AsyncClient(timeout=timeout_s)}
    return {}
