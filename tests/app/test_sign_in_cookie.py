"""The sign-in cookie's script (sign_in_cookie.py) and its place inside streamlit-authenticator.

How the browser takes the script (the cookie it stores, no rerun after a page load) is tested in
Chromium (tests/browser/test_studio_browser.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import streamlit_authenticator as stauth
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import sign_in_cookie
from sign_in_cookie import EXPIRED, BrowserCookies, cookie_script

SCRIPT = re.compile(
    r"<script>document\.cookie = (\"(?:[^\"\\]|\\.)*\") \+ '=' \+ (\"(?:[^\"\\]|\\.)*\") \+ (\"(?:[^\"\\]|\\.)*\")"
    r" \+ \(location\.protocol === 'https:' \? '; Secure' : ''\);</script>"
)


def parts(script: str) -> tuple[str, str, str]:
    """The cookie's name, value and attributes, read back from the script's string literals."""
    found = SCRIPT.fullmatch(script)
    assert found, script
    name, value, attributes = (json.loads(literal) for literal in found.groups())
    return name, value, attributes


TEXT = st.text() | st.text(alphabet="</>script'\"\\ ;=")  # also text made of what could break out


@given(name=TEXT, value=TEXT)
def test_any_name_and_value_stay_inside_their_string_literals(name, value):
    script = cookie_script(name, value, datetime(2030, 1, 1, tzinfo=UTC))
    assert parts(script)[:2] == (name, value)
    assert script.count("</") == 1  # only the element's own end: no text can close it early


def test_the_cookie_is_strict_site_wide_and_expires_in_gmt():
    noon_in_paris = datetime(2027, 3, 4, 13, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    _, _, attributes = parts(cookie_script("crm_studio_auth", "token", noon_in_paris))
    assert attributes == "; expires=Thu, 04 Mar 2027 12:00:00 GMT; path=/; SameSite=Strict"
    assert parts(cookie_script("crm_studio_auth", "", EXPIRED))[2].startswith("; expires=Thu, 01 Jan 1970 00:00:00 GMT")


def test_the_authenticator_writes_its_cookie_through_the_page_script():
    """After `install`, the library's cookie model holds a BrowserCookies, not the component."""
    sign_in_cookie.install()
    authenticator = stauth.Authenticate({"usernames": {}}, "crm_studio_auth", "k" * 32, 7.0, auto_hash=False)
    assert isinstance(authenticator.cookie_controller.cookie_model.cookie_manager, BrowserCookies)


def _write_then_delete() -> None:
    """A page that writes a cookie as the library does (a naive local expiry), then deletes it."""
    from datetime import datetime, timedelta

    from sign_in_cookie import BrowserCookies

    cookies = BrowserCookies()
    cookies.set("crm_studio_auth", "a.b.c", expires_at=datetime.now() + timedelta(days=7))
    cookies.delete("crm_studio_auth")


def test_the_library_s_calls_draw_a_writing_script_in_the_sidebar_and_a_deleting_one_in_the_page():
    at = AppTest.from_function(_write_then_delete).run()
    (written,) = [parts(h.proto.body) for h in at.sidebar.get("html")]
    (deleted,) = [parts(h.proto.body) for h in at.main.get("html")]
    assert written[:2] == ("crm_studio_auth", "a.b.c") and deleted[:2] == ("crm_studio_auth", "")
    expires = parsedate_to_datetime(written[2].split("; ")[1].removeprefix("expires="))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)  # local time read as local
    assert deleted[2].startswith("; expires=Thu, 01 Jan 1970 00:00:00 GMT")
