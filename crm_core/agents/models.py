"""Chat models for agents: ``provider:model`` strings through LangChain, prices, retries.

:class:`ModelSource` gives the chat model of one episode. Remote models are one shared LangChain
model (``init_chat_model``); the offline models of :mod:`crm_core.agents.offline` are made per
episode because they answer from the episode's instance.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from crm_core.errors import UserFacingError, first_line

if TYPE_CHECKING:
    from crm_core.agents.environment import OrgEnvironment
    from crm_core.agents.frameworks import Framework
    from crm_core.tasks.records import TaskInstance

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


@dataclass(frozen=True)
class EpisodeContext:
    """What an episode is about: offline models read it, remote models ignore it."""

    run_id: str
    instance: TaskInstance
    trial: int
    framework: Framework
    env: OrgEnvironment


class ModelSource(ABC):
    """Where the chat model of each episode comes from, and what its tokens cost.

    `counts_tokens` is True for real models: a reply without usage then makes the cost unknown.
    """

    spec: str
    counts_tokens: bool = False

    @abstractmethod
    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        """The chat model that plays `episode`."""

    def validate(self) -> None:
        """Fail now, with a clear message, if the model cannot be made (package, key, name)."""
        return None

    def prepare(self, instances: Sequence[TaskInstance], env: OrgEnvironment) -> None:
        """Called once per run before its episodes (baselines read the instance set here)."""
        return None

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """US dollars for the tokens of one call (None when unknown)."""
        return 0.0


class LangChainModelSource(ModelSource):
    """Any LangChain chat model named ``provider:model`` (``--base-url`` for OpenAI-compatible servers)."""

    counts_tokens = True

    def __init__(
        self,
        spec: str,
        *,
        base_url: str | None = None,
        prices: PriceTable | None = None,
        timeout_s: float = 120.0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec if ":" in spec or not base_url else f"openai:{spec}"
        self.base_url = base_url
        self.prices = prices or load_prices()
        self.timeout_s = timeout_s
        self.extra = extra or {}
        self._models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, BaseChatModel]] = (
            weakref.WeakKeyDictionary()
        )

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        """One shared model per event loop and output limit (call it inside the loop).

        langchain-openai caches its async HTTP client process-wide, bound to the loop that first
        used it, so a second ``asyncio.run`` would reuse a client of a closed loop. Each loop
        gets models with an HTTP client of its own instead.
        """
        max_tokens = episode.framework.max_output_tokens
        models = self._models.setdefault(asyncio.get_running_loop(), {})
        if max_tokens not in models:
            extra = dict(self.extra)
            if self.spec.split(":", 1)[0] in {"openai", "azure_openai"}:
                extra.setdefault("http_async_client", httpx.AsyncClient(timeout=self.timeout_s))
            models[max_tokens] = make_chat_model(
                self.spec, base_url=self.base_url, max_tokens=max_tokens, timeout_s=self.timeout_s, **extra
            )
        return models[max_tokens]

    def validate(self) -> None:
        make_chat_model(self.spec, base_url=self.base_url, timeout_s=self.timeout_s, **self.extra)

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        return self.prices.cost(self.spec, input_tokens, output_tokens)


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


OFFLINE_MODELS = ("oracle", "baseline:majority", "baseline:random", "replay:RUN_ID")
