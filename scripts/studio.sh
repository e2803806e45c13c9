#!/usr/bin/env bash
# Install the studio in a virtual environment and start it on the embedded SQLite default.
# The default org is generated on first start (with a progress bar). As root, Debian's python3
# and python3-venv are installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
read -r -a need_apt <<<"$(missing_python_packages)"
install_debian_packages "${need_apt[@]}"
make_venv
exec .venv/bin/streamlit run app.py --browser.gatherUsageStats false "$@"
