"""Errors whose message is meant for the user as it is (one line, no traceback)."""


class UserFacingError(Exception):
    """An expected failure (bad flag, bad URL, unreachable server, existing org ...)."""
