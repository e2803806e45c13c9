"""OAuth 2.0 endpoints: the username-password flow, revocation and the identity URL.

Errors follow Salesforce's OAuth shape: HTTP 400 with ``{"error", "error_description"}``.
`client_id` and `client_secret` are accepted and not checked (there are no connected apps);
a given `client_secret` keys the response's ``signature`` as Salesforce does.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from crm_core.api import throttle, tokens, users
from crm_core.api.context import ApiContext, Context, Owner, instance_url
from crm_core.api.errors import ApiError
from crm_core.api.tokens import ORG_ID
from crm_core.org.ids import case_safe_suffix

router = APIRouter()


def _oauth_error(error: str, description: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400, headers=headers)


def user_sf_id(user_id: int) -> str:
    """A Salesforce-style user id (``005``) for a studio user; distinct from the org's agents."""
    id15 = f"005Hs1{user_id:09d}"
    return id15 + case_safe_suffix(id15)


def _identity_url(base: str, user_id: int) -> str:
    return f"{base}/id/{ORG_ID}/{user_sf_id(user_id)}"


@router.post("/services/oauth2/token")
def token(
    request: Request,
    ctx: Context,
    grant_type: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
    client_secret: Annotated[str, Form()] = "",
) -> Response:
    """Log in with ``grant_type=password``, ``username`` and ``password``."""
    if grant_type != "password":
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    client_ip = request.client.host if request.client else "unknown"
    limits = ctx.settings.login_limits
    wait = throttle.retry_after(ctx.sessions, limits, username, client_ip)
    if wait is not None:
        return _oauth_error("invalid_grant", "login rate exceeded", headers={"Retry-After": str(wait)})
    user = users.authenticate(ctx.sessions, username, password) if username else None
    if user is None:
        throttle.record_failure(ctx.sessions, username, client_ip)
        return _oauth_error("invalid_grant", "authentication failure")
    throttle.clear_failures(ctx.sessions, username, window_seconds=limits.window_seconds)
    if not user.may_use_api:
        return _oauth_error(
            "invalid_grant", f"user '{user.username}' has the {user.role} role: API access needs researcher or admin"
        )
    access_token, issued = tokens.issue_token(ctx.sessions, user.id, ctx.settings.token_ttl, client_id=client_id)
    base = instance_url(request)
    identity = _identity_url(base, user.id)
    issued_at = str(int(issued.replace(tzinfo=dt.UTC).timestamp() * 1000))
    digest = hmac.new(client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    body: dict[str, Any] = {
        "access_token": access_token,
        "instance_url": base,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(digest).decode(),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})


def _revoke(ctx: ApiContext, token_text: str) -> Response:
    if not tokens.revoke_token(ctx.sessions, token_text):
        return _oauth_error("unsupported_token_type", "this token type is not supported")
    ctx.writes.discard(tokens.hash_token(token_text))  # its sandbox (under --writable) goes too
    return Response(status_code=200)


@router.post("/services/oauth2/revoke")
def revoke(ctx: Context, token: Annotated[str, Form()] = "") -> Response:
    """Revoke the access token given as the form field ``token``."""
    return _revoke(ctx, token)


@router.get("/services/oauth2/revoke")
def revoke_by_query(ctx: Context, token: Annotated[str, Query()] = "") -> Response:
    """Revoke the access token given as the query parameter ``token``."""
    return _revoke(ctx, token)


@router.get("/id/{org_id}/{user_id}")
def identity(org_id: str, user_id: str, request: Request, owner: Owner) -> dict[str, Any]:
    """The identity of the token's user (only their own)."""
    if org_id != ORG_ID or user_id != user_sf_id(owner.user_id):
        raise ApiError(403, "Bad_Id", "Bad_Id")
    return {
        "id": _identity_url(instance_url(request), owner.user_id),
        "asserted_user": True,
        "user_id": user_id,
        "organization_id": org_id,
        "username": owner.username,
        "nick_name": owner.username,
        "display_name": owner.username,
        "active": True,
        "user_type": "STANDARD",
        "urls": {
            "rest": f"{instance_url(request)}/services/data/v{{version}}/",
            "sobjects": f"{instance_url(request)}/services/data/v{{version}}/sobjects/",
            "search": f"{instance_url(request)}/services/data/v{{version}}/search/",
            "query": f"{instance_url(request)}/services/data/v{{version}}/query/",
        },
    }
