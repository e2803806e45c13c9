"""Studio users kept in the app store: bcrypt hashes, roles, first-start admin, login config.

Usernames are lower-case (streamlit-authenticator lower-cases them too). bcrypt reads at most
72 bytes of a password; longer ones are refused rather than silently truncated.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import bcrypt
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.errors import UserFacingError
from crm_core.policy import Role
from crm_core.store.engine import write_transaction
from crm_core.store.models import ApiLoginFailure, ApiToken, AppUser, utc_now

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72
DEFAULT_ADMIN = "admin"
BCRYPT_ROUNDS = 12
"""bcrypt work factor of new hashes (tests lower it; verification reads it from the hash)."""
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


class UserError(UserFacingError):
    """A bad username, role or password, or an unknown or duplicate user."""


def normalize_username(username: str) -> str:
    """`username` stripped and lower-cased; raises :class:`UserError` if it is not usable."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise UserError(
            f"invalid username {username!r}: use 2-64 characters from a-z, 0-9, '.', '_', '-', '@',"
            " starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    """`role` as a :class:`Role`; raises :class:`UserError` naming the valid roles."""
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise UserError(f"invalid role {role!r}: use one of {', '.join(r.value for r in Role)}") from None


def hash_password(password: str) -> str:
    """A bcrypt hash of `password` after checking its length (8 characters to 72 bytes)."""
    size = len(password.encode("utf-8"))
    if size > MAX_PASSWORD_BYTES:
        raise UserError(f"password is {size} bytes long; bcrypt allows at most {MAX_PASSWORD_BYTES} bytes")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")


def generate_password() -> str:
    """A random password of 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def get_user(session: Session, username: str) -> AppUser | None:
    """The user named `username` (case-insensitive), or None."""
    return session.scalar(select(AppUser).where(AppUser.username == username.strip().lower()))


def _existing_user(session: Session, username: str) -> AppUser:
    user = get_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str | None = None,
    *,
    name: str | None = None,
    email: str = "",
) -> tuple[AppUser, str | None]:
    """Create a user and commit; returns the user and the generated password (None if given)."""
    username = normalize_username(username)
    checked_role = check_role(role)
    generated = generate_password() if password is None else None
    password_hash = hash_password(password if password is not None else generated or "")
    try:
        with write_transaction(session):
            if get_user(session, username) is not None:
                raise UserError(f"user {username!r} already exists")
            user = AppUser(
                username=username,
                name=name or username,
                email=email,
                role=checked_role.value,
                password_hash=password_hash,
            )
            session.add(user)
            session.commit()
    except IntegrityError:  # created concurrently
        raise UserError(f"user {username!r} already exists") from None
    return user, generated


def set_password(session: Session, username: str, password: str | None = None) -> str | None:
    """Set (or generate) a password, revoke the user's API tokens, forget failed sign-ins; returns the generated one."""
    generated = generate_password() if password is None else None
    password_hash = hash_password(password if password is not None else generated or "")
    with write_transaction(session):
        user = _existing_user(session, username)
        user.password_hash = password_hash
        # A reset password ends the API sessions opened with the old one, and lifts the sign-in
        # lock that guesses at the old one caused.
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utc_now())
        )
        session.execute(delete(ApiLoginFailure).where(ApiLoginFailure.username == user.username))
        session.commit()
    return generated


def set_role(session: Session, username: str, role: str) -> AppUser:
    """Change a user's role and commit; the last admin cannot stop being one."""
    checked_role = check_role(role)
    with write_transaction(session):
        user = _existing_user(session, username)
        if user.role == Role.ADMIN and checked_role != Role.ADMIN:
            admins = session.scalar(select(func.count()).select_from(AppUser).where(AppUser.role == Role.ADMIN.value))
            if admins == 1:
                raise UserError(f"{user.username!r} is the last admin: make another admin first")
        user.role = checked_role.value
        session.commit()
    return user


def list_users(session: Session) -> list[AppUser]:
    """All users, by username."""
    return list(session.scalars(select(AppUser).order_by(AppUser.username)))


def verify_password(session: Session, username: str, password: str) -> bool:
    """Whether `password` is the password of `username` (False for unknown users)."""
    user = get_user(session, username)
    if user is None or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(password.encode("utf-8"), user.password_hash.encode("ascii"))


def ensure_admin(session: Session) -> str | None:
    """On first start (no admin at all) create ``admin`` with a random password and return it."""
    if session.scalar(select(AppUser.id).where(AppUser.role == Role.ADMIN.value).limit(1)) is not None:
        return None
    try:
        _user, generated = add_user(session, DEFAULT_ADMIN, Role.ADMIN.value, name="Administrator")
    except UserError:  # another process created it first, or a non-admin "admin" exists
        return None
    return generated


def authenticator_credentials(session: Session) -> dict[str, Any]:
    """The users in streamlit-authenticator 0.4.2's credentials format (hashes, not passwords)."""
    return {
        "usernames": {
            user.username: {
                "name": user.name,
                "email": user.email,
                "password": user.password_hash,
                "roles": [user.role],
            }
            for user in list_users(session)
        }
    }
