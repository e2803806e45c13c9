"""The generation grammar: choices, slots, the casual voice that never touches facts, agreement."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.org.grammar import Voice, draws, expand, roughen, run_on
from crm_core.org.text import CaseFacts, agreement, description

PRODUCTS = ("Tempo Training Shorts", "Summit GTX Trail Jacket", "Halo Yoga Leggings", "Nova Hiking Boot")


def test_expand_picks_nested_choices_and_fills_slots() -> None:
    seen = {expand(random.Random(n), "[a [b|c]|d]{x}", x="!") for n in range(200)}
    assert seen == {"a b!", "a c!", "d!"}


def test_agreement_follows_the_kind_of_product() -> None:
    assert agreement("Tempo Training Shorts")["is"] == "are"
    assert agreement("Summit GTX Trail Jacket")["is"] == "is"
    assert agreement("Halo Yoga Leggings")["doesnt"] == "don't"


@given(
    seed=st.integers(0, 10_000),
    product=st.sampled_from(PRODUCTS),
    tone=st.integers(0, 2),
    detail=st.integers(0, 2),
    casual=st.booleans(),
    typos=st.floats(0, 1),
)
def test_descriptions_keep_the_facts_verbatim(
    seed: int, product: str, tone: int, detail: int, casual: bool, typos: float
) -> None:
    voice = Voice(tone=tone, detail=detail, casual=casual, typos=typos)
    facts = CaseFacts(product=product, issue="sizing", order="00001234", city="Boise")
    text = description(random.Random(seed), facts, voice=voice)
    assert product in text
    assert "{" not in text and "[" not in text
    plural = product.endswith(("Shorts", "Leggings"))
    assert f"{product} is " not in text if plural else f"{product} are " not in text


@given(seed=st.integers(0, 10_000), typos=st.floats(0, 1))
def test_roughen_leaves_slots_alone(seed: int, typos: float) -> None:
    template = "The {product} arrived broken and the {product} is {color}, honestly unbelievable."
    rough = roughen(random.Random(seed), template, Voice(tone=1, detail=1, casual=True, typos=typos))
    assert rough.count("{product}") == 2 and "{color}" in rough


def test_run_on_joins_only_at_full_stops_and_keeps_every_word() -> None:
    parts = ["The zipper broke.", "I want a refund.", "Could you help?", "Summit GTX Trail Jacket is fine."]
    joined = run_on(random.Random(3), parts, 1.0)

    def words(sentences: list[str]) -> list[str]:
        return [w for w in re.sub(r"[.,;-]", " ", " ".join(sentences).lower()).split() if w != "and"]

    assert words(joined) == words(parts)
    assert len(joined) == 2  # joined at the full stops only: "...refund. Could you help?" ends a sentence
    assert any("Summit GTX Trail Jacket" in sentence for sentence in joined)  # a product name is never lower-cased


def _rewrite(rng: random.Random, template: str) -> str:
    """The grammar's rule, step by step: resolve every innermost ``[a|b]`` left to right, repeat."""
    while "[" in template:
        template = re.sub(r"\[([^\[\]]*)\]", lambda m: rng.choice(m.group(1).split("|")), template)
    return template


_WORDS = st.sampled_from(["a", "b ", " c", "{x}", "", "d e"])


def _templates(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = st.lists(_WORDS, max_size=3).map("".join)
    if depth == 0:
        return leaf
    choice = st.lists(_templates(depth - 1), min_size=1, max_size=4).map(lambda alts: "[" + "|".join(alts) + "]")
    return st.lists(st.one_of(leaf, choice), max_size=4).map("".join)


@given(template=_templates(), seed=st.integers(0, 2**32))
def test_compiled_templates_draw_what_the_rewriting_rule_draws(template: str, seed: int) -> None:
    stepwise, compiled = random.Random(seed), random.Random(seed)
    assert expand(compiled, template) == _rewrite(stepwise, template)
    assert compiled.random() == stepwise.random()  # the same number of bits consumed


@given(sizes=st.lists(st.integers(1, 5000), max_size=8), seed=st.integers(0, 2**32))
def test_draws_equal_random_choice(sizes: list[int], seed: int) -> None:
    ours, reference = random.Random(seed), random.Random(seed)
    assert draws(ours, tuple((n, n.bit_length()) for n in sizes)) == [reference.choice(range(n)) for n in sizes]
    assert ours.random() == reference.random()


def test_an_unclosed_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="unclosed"):
        expand(random.Random(0), "a [b|c")
