"""The command line answers a missing or malformed argument with a usage line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def crm_core(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tasks", "show"], "Missing argument 'IDX'"),
        (["tasks", "show", "twelve"], "Invalid value for 'IDX'"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_usage_errors_print_a_usage_line_and_exit_2(args, message):
    done = crm_core(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("Usage: python -m crm_core ")
    assert message in done.stderr
