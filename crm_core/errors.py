"""Errors whose message is meant for the user as it is (one line, no traceback)."""


class UserFacingError(Exception):
    """An expected failure (bad flag, bad URL, unreachable server, existing org ...)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message; for a SQLAlchemy error, of the database driver's
    error (``orig``). Empty when there is no message. Later lines (SQL, a server's traceback) are
    never shown to users."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else ""


def error_line(exc: BaseException) -> str:
    """``Type: first line`` of an exception (only the type when it has no message)."""
    line = first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__
