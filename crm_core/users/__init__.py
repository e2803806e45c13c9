"""Studio users: accounts with bcrypt hashes and one role each (see :mod:`crm_core.policy`)."""

from crm_core.users.accounts import (
    UserError,
    add_user,
    authenticator_credentials,
    ensure_admin,
    get_user,
    hash_password,
    list_users,
    set_password,
    set_role,
    verify_password,
)

__all__ = [
    "UserError",
    "add_user",
    "authenticator_credentials",
    "ensure_admin",
    "get_user",
    "hash_password",
    "list_users",
    "set_password",
    "set_role",
    "verify_password",
]
