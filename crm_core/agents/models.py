"""Chat models for agents: ``provider:model`` strings through LangChain, prices, retries.

:class:`ModelSource` gives the chat model of one episode. Remote models are one shared LangChain
model (``init_chat_model``); the offline models of :mod:`crm_core.agents.offline` are made per
episode because they answer from the episode's instance.
"""

from __future__ import annotations

import asyncio
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from crm_core.llm import (
    PRICES_ENV,
    BeforeCall,
    Price,
    PriceTable,
    RetryPolicy,
    invoke_with_retry,
    is_transient,
    load_prices,
    make_chat_model,
    own_http_client,
    retry_after_s,
)

if TYPE_CHECKING:
    from crm_core.agents.environment import OrgEnvironment
    from crm_core.agents.frameworks import Framework
    from crm_core.tasks.records import TaskInstance

__all__ = [  # the model factory, prices and retries live in crm_core.llm; agents import them from here too
    "PRICES_ENV",
    "BeforeCall",
    "EpisodeContext",
    "LangChainModelSource",
    "ModelSource",
    "Price",
    "PriceTable",
    "RetryPolicy",
    "invoke_with_retry",
    "is_transient",
    "load_prices",
    "make_chat_model",
    "retry_after_s",
]


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

    def prepare_in_loop(self, framework: Framework) -> None:
        """Make now, in the running event loop, what the first episode of `framework` would make
        (a remote model: its chat model and HTTP client), so that no episode waits on it."""
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
        return self.model_for(episode.framework.max_output_tokens)

    def model_for(self, max_tokens: int) -> BaseChatModel:
        """The shared model of the running event loop with output limit `max_tokens` (see :meth:`chat_model`)."""
        models = self._models.setdefault(asyncio.get_running_loop(), {})
        if max_tokens not in models:
            extra = {**own_http_client(self.spec, self.timeout_s), **self.extra}
            models[max_tokens] = make_chat_model(
                self.spec, base_url=self.base_url, max_tokens=max_tokens, timeout_s=self.timeout_s, **extra
            )
        return models[max_tokens]

    def prepare_in_loop(self, framework: Framework) -> None:
        self.model_for(framework.max_output_tokens)

    def validate(self) -> None:
        make_chat_model(self.spec, base_url=self.base_url, timeout_s=self.timeout_s, **self.extra)

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        return self.prices.cost(self.spec, input_tokens, output_tokens)


OFFLINE_MODELS = ("oracle", "baseline:majority", "baseline:random", "replay:RUN_ID")
