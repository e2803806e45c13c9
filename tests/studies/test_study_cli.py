"""The ``studies`` CLI: check, load, list, progress, close, reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from studyfiles import study_yaml


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", "studies", *args], capture_output=True, text=True, timeout=300
    )


def test_study_lifecycle_from_the_command_line(tmp_path, app_db_url, id_org):
    good = tmp_path / "cases.yaml"
    good.write_text(study_yaml(cases=4), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(study_yaml(cases=4).replace("ratings_per_item: 2", "ratings_per_item: many"), encoding="utf-8")
    bad_line = study_yaml().splitlines().index("ratings_per_item: 2") + 1

    checked = _cli("check", str(bad))
    assert checked.returncode == 1
    assert checked.stderr.strip().splitlines()[-1].startswith(f"Error: {bad}:{bad_line}: ratings_per_item: ")
    assert "Traceback" not in checked.stderr

    store = ["--app-db", app_db_url]
    loaded = _cli("load", str(good), "--org-db", id_org[0], *store)
    assert loaded.returncode == 0, loaded.stderr
    assert "Study cases is loaded: 4 items, 2 ratings per item." in loaded.stdout
    again = _cli("load", str(good), "--org-db", id_org[0], *store)
    assert again.returncode == 0, again.stderr
    assert "Study cases is already loaded and unchanged (4 items, 2 ratings per item)" in again.stdout
    listed = _cli("list", *store)
    assert "cases" in listed.stdout and "0/8" in listed.stdout and "open" in listed.stdout
    closed = _cli("close", "cases", *store)
    assert closed.returncode == 0 and "closed" in closed.stdout
    shown = _cli("progress", "cases", *store)
    assert "cases (closed): 0/8 ratings, 0/4 items complete" in shown.stdout
    assert _cli("reopen", "cases", *store).returncode == 0
    missing = _cli("close", "nope", *store)
    assert missing.returncode == 1 and "no study 'nope'" in missing.stderr


def test_shipped_realism_study_checks():
    realism = Path(__file__).resolve().parents[2] / "studies" / "realism.yaml"
    checked = _cli("check", str(realism))
    assert checked.returncode == 0 and "study 'realism' is valid (4 dimensions)" in checked.stdout
