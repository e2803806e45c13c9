#!/usr/bin/env bash
# Install the studio in a virtual environment and start it on the embedded SQLite default.
# The default org is generated on first start (with a progress bar).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.txt
exec .venv/bin/streamlit run app.py --browser.gatherUsageStats false "$@"
