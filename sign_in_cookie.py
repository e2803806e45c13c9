"""The studio's sign-in cookie, written by a script in the page instead of a component.

streamlit-authenticator reads its cookie from the request (``st.context.cookies``) but writes it
through extra-streamlit-components' ``CookieManager``, a component that every script run draws:
an iframe with a page and scripts of its own, which on loading reports all the browser's cookies
back to the server, and so reruns the app after every page load (and again after setting one).
A click that lands as such a rerun starts is dropped by Streamlit, and each rerun redraws the page.

:class:`BrowserCookies` takes ``CookieManager``'s place inside the library (:func:`install`): it
draws nothing until the library sets or deletes the cookie, and then writes it with a one-line
script in the page (``st.html`` with JavaScript allowed), which reports nothing back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import streamlit as st
from streamlit_authenticator.models import cookie_model

EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


def cookie_script(name: str, value: str, expires_at: datetime) -> str:
    """A script setting cookie `name` to `value` for the whole site until `expires_at` (naive: local time).

    Path ``/`` and ``SameSite=Strict`` as the library's component set it, and ``Secure`` when the
    page came over HTTPS (which the component did not add); the name and value are JSON strings in
    the script, so no text of theirs is read as code.
    """
    expires = format_datetime(expires_at.astimezone(UTC), usegmt=True)
    attributes = f"; expires={expires}; path=/; SameSite=Strict"
    return (
        "<script>document.cookie = "
        f"{_js_string(name)} + '=' + {_js_string(value)} + {_js_string(attributes)}"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def _js_string(text: str) -> str:
    """`text` as a JavaScript string literal that cannot end the script element it stands in."""
    return json.dumps(text).replace("<", "\\u003c")


class BrowserCookies:
    """The part of ``extra_streamlit_components.CookieManager`` that streamlit-authenticator uses."""

    def __init__(self, key: str = "init") -> None:
        pass  # draws nothing: the library reads the cookie from the request (st.context.cookies)

    def set(self, cookie: str, val: str, key: str = "set", expires_at: datetime | None = None, **_: object) -> None:
        """Write `cookie` in the browser (one day, as the component's default, unless `expires_at`).

        From the sidebar, which the signed-in page draws anyway, so that the page keeps its layout.
        """
        expires = expires_at or datetime.now() + timedelta(days=1)
        st.sidebar.html(cookie_script(cookie, str(val), expires), unsafe_allow_javascript=True)

    def delete(self, cookie: str, key: str = "delete") -> None:
        """Remove `cookie` from the browser (from the page: a signed-out page has no sidebar to draw)."""
        st.html(cookie_script(cookie, "", EXPIRED), unsafe_allow_javascript=True)


def install() -> None:
    """Make streamlit-authenticator's cookie model use :class:`BrowserCookies` (call before ``Authenticate``)."""
    cookie_model.stx = SimpleNamespace(CookieManager=BrowserCookies)
