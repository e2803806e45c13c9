"""What a returning person's page load costs: the studio against a one-line Streamlit app.

Starts ``streamlit run app.py`` on a tiny org (an expert signed in once through the form), and a
one-line Streamlit app as the baseline, then opens a page N times in a fresh browser context
(Chromium headless shell, as the browser tests) holding the sign-in cookie. For each load it
measures the CPU of Chromium and of the Streamlit server (including anything the page asks for in
the 1.5 s after it has drawn) and the time until the app has drawn and is idle. Prints medians and
their ratio to the baseline.

    .venv/bin/python bench/studio_load.py [--loads 7] [--page explorer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from studio_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    serve_realism_studio,
    serve_studio,
    settle,
    sign_in_with_form,
)

from crm_core.org.generator import generate_org  # noqa: E402
from crm_core.studio.startup import COOKIE_NAME  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float, bytes]]:
    """Every process: its parent, its CPU seconds (with reaped children) and its command line."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = sum(int(value) for value in fields[11:15]) / HZ
            found[int(name)] = (int(fields[1]), cpu, Path(f"/proc/{name}/cmdline").read_bytes())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds so far of this process's descendants: the Streamlit servers and the browser."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    totals = {"streamlit": 0.0, "browser": 0.0}
    stack = list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        _, cpu, command = processes[pid]
        totals["streamlit" if b"streamlit" in command else "browser"] += cpu
        stack.extend(children.get(pid, []))
    return totals


def measure_loads(browser: Browser, url: str, cookies: list, loads: int) -> dict[str, float]:
    """Median CPU (browser, server) and seconds to idle of `loads` page loads."""
    rows = []
    for _ in range(loads + 1):  # the first load warms the server's caches and is left out
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        context.add_cookies(cookies)
        page = context.new_page()
        before, started = cpu_by_kind(), time.perf_counter()
        page.goto(url)
        settle(page)
        idle = time.perf_counter() - started
        page.wait_for_timeout(1500)  # anything the page asks for after drawing (a component's rerun)
        after = cpu_by_kind()
        context.close()
        rows.append((after["browser"] - before["browser"], after["streamlit"] - before["streamlit"], idle))
    rows = rows[1:]
    return {
        key: statistics.median(row[i] for row in rows)
        for i, key in enumerate(("browser_cpu", "server_cpu", "seconds_to_idle"))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--page", default="explorer", help="the studio page's URL path")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        org_url = f"sqlite:///{folder}/org.db"
        generate_org(org_url, scale="tiny", seed=7)
        baseline_dir = Path(folder) / "baseline"
        baseline_dir.mkdir()
        (baseline_dir / "app.py").write_text('import streamlit as st\n\nst.title("Hello")\nst.write("One line.")\n')
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            studio_dir = Path(folder) / "studio"
            studio_dir.mkdir()
            with serve_realism_studio(studio_dir, org_url) as studio:
                context = browser.new_context()
                sign_in_with_form(context.new_page(), studio, "erin")
                cookies = [cookie for cookie in context.cookies() if cookie["name"] == COOKIE_NAME]
                context.close()
                console.print(f"studio: {args.loads} loads of /{args.page} ...")
                studio_row = measure_loads(browser, f"{studio.base_url}/{args.page}", cookies, args.loads)
            with serve_studio(baseline_dir, org_url, "sqlite://", app_dir=baseline_dir) as plain:
                console.print(f"baseline: {args.loads} loads of a one-line app ...")
                baseline_row = measure_loads(browser, plain.base_url, [], args.loads)
            browser.close()
    table = Table(title=f"A returning browser's load of /{args.page} (median of {args.loads})")
    for column in ("", "browser CPU s", "server CPU s", "s to idle"):
        table.add_column(column, justify="right")
    keys = ("browser_cpu", "server_cpu", "seconds_to_idle")
    table.add_row("one-line app (baseline)", *(f"{baseline_row[k]:.2f}" for k in keys))
    table.add_row("studio", *(f"{studio_row[k]:.2f}" for k in keys))
    table.add_row("ratio", *(f"{studio_row[k] / baseline_row[k]:.1f}x" if baseline_row[k] else "-" for k in keys))
    console.print(table)


if __name__ == "__main__":
    main()
