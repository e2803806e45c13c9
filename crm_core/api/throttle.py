"""Rate limiting of failed OAuth logins: the studio's sign-in throttle (:mod:`crm_core.users.throttle`).

Kept so that ``crm_core.api.throttle.retry_after`` and friends go on working; the API always
passes the client address, so it is limited per username and per address.
"""

from __future__ import annotations

from crm_core.users.throttle import LoginLimits, clear_failures, record_failure, retry_after

__all__ = ["LoginLimits", "clear_failures", "record_failure", "retry_after"]
