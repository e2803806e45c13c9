"""Who may log in to the API: studio users with the researcher or admin role.

This is the API's only dependency on the studio's user accounts (:mod:`crm_core.users.accounts`).
"""

from __future__ import annotations

import functools

import bcrypt
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from crm_core.policy import Role
from crm_core.users import accounts

API_ROLES = frozenset({Role.RESEARCHER.value, Role.ADMIN.value})


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    """The hash checked for an unknown username, so that a wrong username costs as long as a wrong
    password. Made on first use: made at import, it cost every server start a quarter second."""
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=rounds))


class ApiUser(BaseModel):
    """A studio user whose password was right."""

    id: int
    username: str
    role: str

    @property
    def may_use_api(self) -> bool:
        return self.role in API_ROLES


def authenticate(sessions: sessionmaker[Session], username: str, password: str) -> ApiUser | None:
    """The user named `username` (case-insensitive) if `password` is theirs, else None."""
    with sessions() as session:
        user = accounts.get_user(session, username)
        if user is None:
            bcrypt.checkpw(password.encode()[:72], _dummy_hash(accounts.BCRYPT_ROUNDS))
            return None
        if not accounts.verify_password(session, username, password):
            return None
        return ApiUser(id=user.id, username=user.username, role=user.role)
