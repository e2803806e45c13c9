"""The model factory: provider strings, clear errors, prices, and which failures are retried."""

from __future__ import annotations

import httpx
import openai
import pytest

from crm_core.agents.models import (
    PriceTable,
    is_transient,
    load_prices,
    make_chat_model,
    retry_after_s,
)
from crm_core.agents.offline import BaselineSource, OracleSource
from crm_core.agents.service import resolve_model
from crm_core.errors import UserFacingError


def _status_error(cls: type[openai.APIStatusError], status: int, **headers: str) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, headers={k.replace("_", "-"): v for k, v in headers.items()})
    return cls("scripted", response=response, body=None)


def test_openai_model_from_a_provider_string(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = make_chat_model("openai:gpt-4o-mini", max_tokens=3500)
    assert (model.model_name, model.temperature, model.max_tokens, model.max_retries) == ("gpt-4o-mini", 0, 3500, 0)


def test_base_url_without_key_sends_a_placeholder(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = make_chat_model("openai:local", base_url="http://127.0.0.1:9/v1")
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.openai_api_key.get_secret_value() == "not-needed"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("openai:gpt-4o", "OPENAI_API_KEY"),
        ("anthropic:claude-3-5-haiku-20241022", "langchain-anthropic"),
        ("no-such-model", "Unable to infer model provider"),
    ],
)
def test_models_that_cannot_be_made_say_why(monkeypatch, spec, fragment):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserFacingError, match=f"^model '{spec}': ") as caught:
        make_chat_model(spec)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_resolve_model_names():
    assert isinstance(resolve_model("oracle"), OracleSource)
    assert isinstance(resolve_model("baseline:majority"), BaselineSource)
    with pytest.raises(UserFacingError, match="unknown baseline 'best'"):
        resolve_model("baseline:best")
    with pytest.raises(UserFacingError, match="replay needs a run id"):
        resolve_model("replay:")
    assert resolve_model("my-model", base_url="http://127.0.0.1:9/v1").spec == "openai:my-model"


def test_prices(tmp_path, monkeypatch):
    table = PriceTable.model_validate(
        {"prices": {"openai:gpt-4o": {"input": 2.5, "output": 10}, "ollama:*": {"input": 0, "output": 0}}}
    )
    assert table.cost("openai:gpt-4o", 1_000_000, 100_000) == pytest.approx(2.5 + 1.0)
    assert table.cost("ollama:llama3.1", 5000, 5000) == 0.0
    assert table.cost("openai:unknown", 1, 1) is None
    shipped = load_prices()
    assert shipped.cost("openai:gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    custom = tmp_path / "p.json"
    custom.write_text('{"x:y": {"input": 1, "output": 2}}')
    monkeypatch.setenv("CRM_PRICES", str(custom))
    assert load_prices().cost("x:y", 1_000_000, 1_000_000) == pytest.approx(3.0)
    custom.write_text('{"x:y": {"input": -1, "output": 2}}')
    with pytest.raises(UserFacingError, match=r"p.json: model x:y.input: "):
        load_prices()


def test_which_failures_are_retried():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    assert is_transient(_status_error(openai.RateLimitError, 429))
    assert is_transient(_status_error(openai.InternalServerError, 503))
    assert is_transient(openai.APITimeoutError(request=request))
    assert is_transient(openai.APIConnectionError(request=request))
    assert is_transient(TimeoutError())
    assert not is_transient(_status_error(openai.AuthenticationError, 401))
    assert not is_transient(_status_error(openai.BadRequestError, 400))
    assert not is_transient(ValueError("bad"))


def test_retry_after_headers():
    assert retry_after_s(_status_error(openai.RateLimitError, 429, retry_after="3")) == 3.0
    assert retry_after_s(_status_error(openai.RateLimitError, 429, retry_after_ms="250", retry_after="9")) == 0.25
    assert retry_after_s(_status_error(openai.RateLimitError, 429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")) is None
    assert retry_after_s(_status_error(openai.RateLimitError, 429)) is None
    assert retry_after_s(ValueError("no response")) is None
