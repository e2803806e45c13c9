"""The ``studies`` CLI: check, load, list, progress, close, reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from studyfiles import study_yaml


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", "studies", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_study_lifecycle_from_the_command_line(tmp_path, app_db_url, id_org, cli):
    good = tmp_path / "cases.yaml"
    good.write_text(study_yaml(cases=4), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(study_yaml(cases=4).replace("ratings_per_item: 2", "ratings_per_item: many"), encoding="utf-8")
    bad_line = study_yaml().splitlines().index("ratings_per_item: 2") + 1

    checked = _cli("check", str(bad))
    assert checked.returncode == 1
    assert checked.stderr.strip().splitlines()[-1].startswith(f"Error: {bad}:{bad_line}: ratings_per_item: ")
    assert "Traceback" not in checked.stderr

    # The rest runs in this process: the one-line error above already crossed a real process boundary.
    store = ["--app-db", app_db_url]
    code, out, err = cli("studies", "load", str(good), "--org-db", id_org[0], *store)
    assert code == 0, err
    assert "Study cases is loaded: 4 items, 2 ratings per item." in out
    code, out, err = cli("studies", "load", str(good), "--org-db", id_org[0], *store)
    assert code == 0, err
    assert "Study cases is already loaded and unchanged (4 items, 2 ratings per item)" in out
    code, out, err = cli("studies", "list", *store)
    assert "cases" in out and "0/8" in out and "open" in out
    code, out, err = cli("studies", "close", "cases", *store)
    assert code == 0 and "closed" in out
    code, out, err = cli("studies", "progress", "cases", *store)
    assert "cases (closed): 0/8 ratings, 0/4 items complete" in out
    assert cli("studies", "reopen", "cases", *store)[0] == 0
    code, out, err = cli("studies", "close", "nope", *store)
    assert code == 1 and "no study 'nope'" in err


def test_shipped_realism_study_checks(cli):
    realism = Path(__file__).resolve().parents[2] / "studies" / "realism.yaml"
    code, out, err = cli("studies", "check", str(realism))
    assert code == 0 and "study 'realism' is valid (4 dimensions)" in out
