"""AppTest tests of the studio: sign-in, role gating, and each page's logic against real stores."""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
from handmade_org import ACCOUNTS, CASES, CONTACTS
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest
from studio_setup import PASSWORD, USERS

from crm_core.store import AppUser, Draft, Rating, Response
from crm_core.studies import get_draft, list_studies, next_item, save_draft
from crm_core.users import get_user, verify_password

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60


def signed_in(username: str, *, page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """The app run as `username` (session state as the authenticator leaves it after a sign-in)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    at.session_state["roles"] = [USERS[username]]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def page_alone(page: str, username: str, role: str | None = None) -> AppTest:
    """A page script run directly (as if its URL were typed), with a given session state."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["roles"] = [role or USERS[username]]
    return at.run()


def assert_not_in_navigation(at: AppTest, page: str) -> None:
    """AppTest can only switch to pages that st.navigation registered for this session."""
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- sign-in and role gating ------------------------------------------------------------------


def test_signed_out_visitor_sees_only_the_sign_in_form(studio):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert titles(at) == ["CRMArena Studio"]
    assert not at.sidebar.button  # no sign-out button, no page list


@pytest.mark.slow
def test_wrong_password_is_refused_and_right_one_signs_in(studio):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input[0].input("erin")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert "Username or password is incorrect." in errors(at)
    assert at.session_state["authentication_status"] is False
    at.text_input[0].input("erin")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["authentication_status"] is True
    assert at.session_state["roles"] == ["expert"]


def test_role_comes_from_the_database_not_the_session(studio):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erin"
    at.session_state["roles"] = ["admin"]  # forged
    at.run()
    assert at.session_state["roles"] == ["expert"]
    assert_not_in_navigation(at, "studio_pages/admin.py")


def test_deleted_user_is_signed_out(studio):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "ghost"
    at.run()
    assert not at.session_state["authentication_status"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]


@pytest.mark.parametrize(
    ("username", "allowed", "refused"),
    [
        ("erin", ["org_explorer", "realism_study"], ["export", "admin", "sweeps"]),
        ("rita", ["org_explorer", "export", "sweeps"], ["realism_study", "admin"]),
        ("adam", ["org_explorer", "export", "admin"], ["realism_study"]),
    ],
)
def test_pages_open_only_for_their_roles(studio, username, allowed, refused):
    page_titles = {
        "org_explorer": "Org Explorer",
        "realism_study": "Realism Study",
        "export": "Export",
        "admin": "Admin",
        "sweeps": "Sweeps",
    }
    for page in allowed:
        at = signed_in(username, page=f"studio_pages/{page}.py")
        assert page_titles[page] in titles(at), (username, page)
    for page in refused:
        # through the app: the page is not registered in the navigation at all
        assert_not_in_navigation(signed_in(username), f"studio_pages/{page}.py")
        # the page itself, run directly: it checks the role again and stops
        alone = page_alone(f"studio_pages/{page}.py", username)
        assert page_titles[page] not in titles(alone)
        assert any("Your role cannot open" in e for e in errors(alone))


def test_pages_refuse_a_signed_out_session(studio):
    for page in ["org_explorer", "realism_study", "export", "admin"]:
        at = AppTest.from_file(str(ROOT / "studio_pages" / f"{page}.py"), default_timeout=TIMEOUT)
        at.session_state["roles"] = ["admin"]  # roles alone do not sign anyone in
        at.run()
        assert any("Your role cannot open" in e for e in errors(at))


# --- Org Explorer -----------------------------------------------------------------------------


def test_explorer_table_filters_and_opens_records(studio):
    at = signed_in("erin", page="studio_pages/org_explorer.py")
    assert any(c.value.startswith("5 Case records") for c in at.caption)
    frame = at.dataframe[0].value
    assert len(frame) == 5 and set(frame["Id"]) == set(CASES)
    assert set(frame["AccountId"]) == {f"Grace Hopper ({ACCOUNTS[0]})", f"Alan Turing ({ACCOUNTS[1]})"}

    field_box = next(s for s in at.selectbox if s.label == "Field")
    field_box.select(next(o for o in field_box.options if o.startswith("Subject")))
    at.run()
    next(s for s in at.selectbox if s.label == "Operator").select("contains")
    next(t for t in at.text_input if t.label == "Value").input("ship")
    next(b for b in at.button if b.label == "Add").click().run()
    assert any(c.value.startswith("3 Case records") for c in at.caption)

    typed = next(t for t in at.text_input if t.label == "Open a record by id")
    typed.input(CASES[0][:15])  # the 15-character id works too
    next(b for b in at.button if b.label == "Open").click().run()
    assert [h.value for h in at.header] == ["Case: 00000001"]
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link")}
    assert links[f"Grace Hopper ({ACCOUNTS[0]})"] == f"object=Account&id={ACCOUNTS[0]}"
    assert links[f"Grace Hopper ({CONTACTS[0]})"] == f"object=Contact&id={CONTACTS[0]}"
    account_link = next(
        link.proto for link in at.get("page_link") if link.proto.query_string.startswith("object=Account")
    )
    assert (account_link.label, account_link.page) == (f"Grace Hopper ({ACCOUNTS[0]})", "explorer")
    # following the link: the page reads object and id from the URL
    for key, value in urllib.parse.parse_qsl(account_link.query_string):
        at.query_params[key] = value
    at.run()
    assert [h.value for h in at.header] == ["Account: Grace Hopper"]
    children = {e.label for e in at.expander}
    assert "Cases (Case): 3" in children


def test_explorer_record_url_survives_a_reload(studio):
    at = signed_in("rita", page="studio_pages/org_explorer.py")
    at.query_params["object"] = "Case"
    at.query_params["id"] = CASES[3]
    at.run()
    assert [h.value for h in at.header] == ["Case: 00000004"]


def test_explorer_reports_bad_ids(studio):
    at = signed_in("rita", page="studio_pages/org_explorer.py")
    at.query_params["id"] = "not-an-id"
    at.run()
    assert errors(at) == ["Cannot open the record: 'not-an-id' is not a record id (15 or 18 letters and digits)."]
    assert [b.label for b in at.button if b.key == "back"] == ["← Case table"]  # a way back
    at.query_params["object"] = "Account"
    at.query_params["id"] = CASES[0]
    at.run()
    assert errors(at) == [f"Cannot open the record: {CASES[0]} is not an Account id: it is a Case id."]
    next(b for b in at.button if b.key == "back").click().run()
    assert not errors(at) and any(c.value.endswith("select a row to open it") for c in at.caption)


def test_explorer_picklist_filter_offers_the_values_and_a_page_past_the_end_clamps(studio):
    at = signed_in("rita", page="studio_pages/org_explorer.py")
    field_box = next(s for s in at.selectbox if s.label == "Field")
    field_box.select(next(o for o in field_box.options if o.startswith("Status")))
    at.run()
    value_box = next(s for s in at.selectbox if s.label == "Value")
    assert {"New", "Closed", "Escalated"} <= set(value_box.options)
    value_box.select("New")
    at.run()
    next(b for b in at.button if b.label == "Add").click().run()
    assert any(c.value.startswith("2 Case records") for c in at.caption)
    at.number_input(key="page-Case").set_value(7).run()
    assert "Page 7 is past the end: this is the last page, 1." in [i.value for i in at.info]
    assert at.number_input(key="page-Case").value == 1


# --- Realism Study ----------------------------------------------------------------------------


def radios(at: AppTest) -> list:
    return [r for r in at.radio if r.key and r.key.startswith("rate-")]


def draft_of(studio, username: str) -> Draft | None:
    with studio.session() as session:
        item = next_item(session, "mini", username)
        return get_draft(session, item.id, username) if item else None


def test_realism_autosaves_and_resumes_in_a_new_session(studio):
    at = signed_in("erin", page="studio_pages/realism_study.py")
    assert "Realism Study" in titles(at)
    assert [r.options for r in radios(at)][0] == [
        "1 · Very unrealistic",
        "2 · Unrealistic",
        "3 · Neutral",
        "4 · Realistic",
        "5 · Very realistic",
    ]
    first, second = radios(at)
    first.set_value(4).run()
    draft = draft_of(studio, "erin")
    assert draft is not None and draft.values == {"data_realism": 4}

    again = signed_in("erin", page="studio_pages/realism_study.py")  # a refresh: a brand-new session
    assert [r.value for r in radios(again)] == [4, None]
    assert radios(again)[0].key == first.key  # same item


def test_a_stale_empty_scale_sent_back_by_the_browser_clears_no_answer(studio):
    # A run under way when the rater clicked can show the scale empty again for a moment; their next
    # click then sends that empty scale along with the new answer. Nobody can empty a scale by hand.
    at = signed_in("erin", page="studio_pages/realism_study.py")
    first, second = radios(at)
    first.set_value(4).run()
    first, second = radios(at)
    first.set_value(None)
    second.set_value(5).run()
    assert draft_of(studio, "erin").values == {"data_realism": 4, "overall": 5}
    assert [r.value for r in radios(at)] == [4, 5]  # the run puts the stored answer back on the screen


def test_a_run_sends_the_browser_only_answers_it_does_not_show(studio):
    # Sending a stored answer to a widget replaces what the browser shows, so a run that read the
    # draft before a click's save would undo the click on the screen: only differences are sent.
    at = signed_in("erin", page="studio_pages/realism_study.py")
    first, _ = radios(at)
    first.set_value(4).run()
    comment = next(t for t in at.text_area if t.key and t.key.endswith("-data_realism"))
    comment.input("Dates look right").run()
    at.run()
    assert [(r.value, r.proto.set_value) for r in radios(at)] == [(4, False), (None, False)]
    assert [(t.value, t.proto.set_value) for t in at.text_area if t.key.startswith("comment-")] == [
        ("Dates look right", False),
        ("", False),
    ]
    # another tab changes the stored draft: the next run shows what is stored
    with studio.session() as session:
        item = next_item(session, "mini", "erin")
        save_draft(session, "mini", item.id, "erin", values={"data_realism": 2}, comments={"data_realism": ""})
    at.run()
    assert [(r.value, r.proto.set_value) for r in radios(at)] == [(2, True), (None, False)]
    assert [t.value for t in at.text_area if t.key.startswith("comment-")] == ["", ""]


def test_submit_takes_the_answer_on_screen_even_before_its_own_save(studio):
    # A click on a scale and a click on Submit can reach the server in one run, and the scale's
    # save may come second: the answer on screen is the one submitted.
    at = signed_in("erin", page="studio_pages/realism_study.py")
    first, second = radios(at)
    first.set_value(4).run()
    at.session_state[second.key] = 5  # on screen, its own save not yet run
    next(b for b in at.button if b.label == "Submit").click().run()
    assert not errors(at)
    with studio.session() as session:
        stored = session.scalars(select(Rating).order_by(Rating.position)).all()
        assert [(r.dimension, r.value) for r in stored] == [("data_realism", 4), ("overall", 5)]


def test_low_score_needs_a_comment_then_submits_once(studio):
    at = signed_in("erin", page="studio_pages/realism_study.py")
    item_key = radios(at)[0].key.split("-")[1]
    radios(at)[0].set_value(2).run()
    radios(at)[1].set_value(5).run()
    submit = next(b for b in at.button if b.label == "Submit")
    submit.click().run()
    assert "A comment is required for 'Unrealistic'." in errors(at)
    with studio.session() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0

    comment = next(t for t in at.text_area if t.key == f"comment-{item_key}-data_realism")
    comment.input("Too many cases on one day").run()
    next(b for b in at.button if b.label == "Submit").click().run()
    assert not errors(at)
    with studio.session() as session:
        stored = session.scalars(select(Rating).order_by(Rating.position)).all()
        assert [(r.dimension, r.value, r.comment) for r in stored] == [
            ("data_realism", 2, "Too many cases on one day"),
            ("overall", 5, ""),
        ]
        # the answered item's draft is gone; the only draft is the next item, opened after the rerun
        assert str(item_key) not in {str(d.item_id) for d in session.scalars(select(Draft))}
    # the next item is offered and progress moved on
    assert radios(at)[0].key.split("-")[1] != item_key
    assert any("1 of 4 items answered" in p.text for p in at.get("progress") if hasattr(p, "text"))


def test_realism_says_when_no_study_is_open(studio):
    with studio.session() as session:
        from crm_core.studies import close_study

        close_study(session, "mini")
    at = signed_in("erin", page="studio_pages/realism_study.py")
    assert any("No study is open" in i.value for i in at.info)


# --- Export -----------------------------------------------------------------------------------


def submit_answers(studio, username: str, count: int, value: int = 4) -> None:
    from crm_core.studies import submit

    with studio.session() as session:
        for _ in range(count):
            item = next_item(session, "mini", username)
            assert item is not None
            submit(session, "mini", item.id, username, {"data_realism": value, "overall": value})


def test_export_is_pseudonymized_unless_names_are_asked_for(studio):
    submit_answers(studio, "erin", 2)
    submit_answers(studio, "ethan", 1)
    at = signed_in("rita", page="studio_pages/export.py")
    frame = at.dataframe[0].value
    assert len(frame) == 3 * 2  # three responses, two dimensions each
    assert not set(frame["rater"]) & {"erin", "ethan"}
    assert frame["rater"].nunique() == 2
    at.checkbox(key="show_names").check().run()
    named = at.dataframe[0].value
    assert sorted(named["rater"].value_counts().items()) == [("erin", 4), ("ethan", 2)]
    assert "Export rows: `6`" in [m.value for m in at.markdown]


def test_export_downloads_hold_the_stored_responses(studio):
    submit_answers(studio, "erin", 1, value=3)
    at = signed_in("adam", page="studio_pages/export.py")
    buttons = at.get("download_button")
    assert len(buttons) == 3
    # The page hands the library's bytes to st.download_button; read one back like a file.
    from crm_core.studies import export_bytes

    with studio.session() as session:
        data = export_bytes(session, "mini", "csv")
    frame = pd.read_csv(io.BytesIO(data))
    assert list(frame["value"]) == [3, 3]


# --- Admin ------------------------------------------------------------------------------------


def test_admin_adds_a_user_with_a_generated_password(studio):
    at = signed_in("adam", page="studio_pages/admin.py")
    at.text_input(key="new_username").input("Nora")
    at.selectbox(key="new_role").select("researcher")
    next(b for b in at.button if b.label == "Add user").click().run()
    message = next(s.value for s in at.success)
    assert message.startswith("Added nora (researcher). Password (shown once): `")
    password = message.split("`")[1]
    with studio.session() as session:
        assert get_user(session, "nora").role == "researcher"
        assert verify_password(session, "nora", password)


def test_admin_sets_roles_and_resets_passwords(studio):
    at = signed_in("adam", page="studio_pages/admin.py")
    at.selectbox(key="role_user").select("erin")
    at.selectbox(key="role_value").select("researcher")
    next(b for b in at.button if b.label == "Set role").click().run()
    at.selectbox(key="password_user").select("ethan")
    at.text_input(key="password_value").input("a-new-password-1")
    next(b for b in at.button if b.label == "Reset password").click().run()
    with studio.session() as session:
        assert get_user(session, "erin").role == "researcher"
        assert verify_password(session, "ethan", "a-new-password-1")
        assert not verify_password(session, "ethan", PASSWORD)


def test_admin_cannot_demote_the_last_admin(studio):
    at = signed_in("adam", page="studio_pages/admin.py")
    at.selectbox(key="role_user").select("adam")
    at.selectbox(key="role_value").select("expert")
    next(b for b in at.button if b.label == "Set role").click().run()
    assert any("last admin" in e for e in errors(at))
    with studio.session() as session:
        assert session.scalar(select(AppUser.role).where(AppUser.username == "adam")) == "admin"


def test_admin_closes_and_reopens_studies_and_sees_progress(studio):
    submit_answers(studio, "erin", 1)
    at = signed_in("adam", page="studio_pages/admin.py")
    table = at.dataframe[1].value
    row = table[table["Study"] == "mini"].iloc[0]
    assert (row["Status"], row["Items"], row["Ratings done"]) == ("open", 4, "1 / 8")
    at.selectbox(key="close_id").select("mini")
    next(b for b in at.button if b.label == "Close study").click().run()
    with studio.session() as session:
        assert [s.status for s in list_studies(session)] == ["closed"]
    next(b for b in at.button if b.label == "Reopen study").click().run()
    with studio.session() as session:
        assert [s.status for s in list_studies(session)] == ["open"]


def test_admin_load_reports_a_study_that_cannot_be_sampled(studio):
    # realism.yaml samples every object; the hand-made org has no Order records
    at = signed_in("adam", page="studio_pages/admin.py")
    at.selectbox(key="study_file").select("realism.yaml")
    next(b for b in at.button if b.label == "Load study").click().run()
    assert any("has no" in e and "records to sample" in e for e in errors(at))


@pytest.mark.postgres
def test_rating_and_export_with_the_app_store_on_postgresql(tmp_path, handmade_org_url, app_db_pg_url, monkeypatch):
    from studio_setup import make_studio

    studio = make_studio(tmp_path, handmade_org_url, app_url=app_db_pg_url)
    for key, value in studio.env().items():
        monkeypatch.setenv(key, value)
    at = signed_in("erin", page="studio_pages/realism_study.py")
    item = radios(at)[0].key.split("-")[1]
    for radio in radios(at):
        radio.set_value(5).run()
    again = signed_in("erin", page="studio_pages/realism_study.py")  # the draft is in PostgreSQL
    assert [r.value for r in radios(again)] == [5, 5]
    next(b for b in again.button if b.label == "Submit").click().run()
    assert not errors(again)
    export = signed_in("rita", page="studio_pages/export.py")
    frame = export.dataframe[0].value
    assert sorted(zip(frame["item_id"].astype(str), frame["dimension"], frame["value"], strict=True)) == [
        (item, "data_realism", 5),
        (item, "overall", 5),
    ]
