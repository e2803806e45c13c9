#!/usr/bin/env bash
# Install the studio in a virtual environment and start it on the embedded SQLite default.
# The default org is generated on first start (with a progress bar).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
make_venv
exec .venv/bin/streamlit run app.py --browser.gatherUsageStats false "$@"
