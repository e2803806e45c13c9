"""YAML files validated by pydantic models, with errors naming the file, the line and the field.

PyYAML's composed node tree keeps each value's position; a pydantic error location (``("items",
2, "kind")``) is walked down that tree to the line of the value it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from crm_core.errors import UserFacingError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]


class YamlFileError(UserFacingError):
    """A YAML file that cannot be used; ``problems`` lists ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def field_path(loc: Loc) -> str:
    """``items[2].kind`` for the location ``("items", 2, "kind")``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def locate(root: yaml.Node | None, loc: Loc, tag_key: str | None = None) -> tuple[int, Loc]:
    """The 1-based line of `loc` in the YAML tree, and the loc without pydantic's union tags.

    A missing key reports the line of the mapping that lacks it. `tag_key` names the field of a
    discriminated union, whose value pydantic inserts into the location though the file has no
    such key.
    """
    node = root
    kept: list[Any] = []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if child is None:
                tag = next((v.value for k, v in node.value if getattr(k, "value", None) == tag_key), None)
                if tag_key is not None and tag == part:
                    continue
                kept.append(part)
                break
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            kept.append(part)
            break
        kept.append(part)
    line = node.start_mark.line + 1 if node is not None else 1
    return line, tuple(kept)


def _default_message(error: Any) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def parse_yaml_model(
    text: str,
    source: str,
    model: type[M],
    *,
    error: type[YamlFileError] = YamlFileError,
    what: str = "file",
    fields_hint: str = "",
    message: Callable[[Any], str] = _default_message,
    tag_key: str | None = None,
    semantic: Callable[[M], list[tuple[Loc, str]]] | None = None,
) -> M:
    """Validate YAML `text` as `model`; every problem names `source`, its line and its field.

    `fields_hint` follows the complaint about a file that is not a mapping (`` (id, title, ...)``).
    `semantic` returns further (location, message) problems of a valid model (cross-field rules).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise error([f"{source}:{line}: not valid YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise error([f"{source}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise error([f"{source}:1: a {what} must be a mapping of fields{fields_hint}"])
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            line, loc = locate(root, tuple(item["loc"]), tag_key)
            problems.append(f"{source}:{line}: {field_path(loc)}: {message(item)}")
        raise error(problems) from None
    found = semantic(value) if semantic else []
    if found:
        problems = []
        for loc, text_ in found:
            line, kept = locate(root, loc, tag_key)
            problems.append(f"{source}:{line}: {field_path(kept)}: {text_}")
        raise error(problems)
    return value


def read_text_file(path: str, error: type[YamlFileError] = YamlFileError, what: str = "file") -> str:
    """The UTF-8 text of `path`; unreadable files raise `error` naming the path."""
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error([f"{path}: cannot read the {what} ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError:
        raise error([f"{path}: not a UTF-8 text file"]) from None
