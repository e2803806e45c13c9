"""Page scripts hold no bare strings below their docstring: Streamlit's magic would draw them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([ROOT / "app.py", *(ROOT / "studio_pages").glob("*.py")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_bare_string_is_drawn_on_the_page(script: Path) -> None:
    body = ast.parse(script.read_text()).body
    drawn = [
        node.lineno
        for node in body[1:]  # the module docstring is not drawn
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    ]
    assert drawn == [], f"{script.name}: bare strings at lines {drawn} would show on the page"
