#!/usr/bin/env bash
# Install everything the test suite needs on a Debian machine, check the code with ruff and run
# the tests on every core and one more worker (pytest-xdist).
# Debian packages (PostgreSQL server, Chromium) are installed when missing and the script runs
# as root; a local PostgreSQL cluster is started and a test role and database are created.
#
#   bash scripts/test.sh                 ruff, then the whole suite
#   bash scripts/test.sh --fast          ruff, then the quick loop: no slow, browser or PostgreSQL tests
#   bash scripts/test.sh [--fast] ARGS   extra pytest arguments (a path, -k, -x, -n 1 ...)
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi

source scripts/venv.sh
read -r -a need_apt <<<"$(missing_python_packages)"
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v chromium-headless-shell >/dev/null 2>&1 || need_apt+=(chromium-headless-shell)
install_debian_packages "${need_apt[@]}"
make_venv

if [ -z "${CRM_TEST_PG_URL:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | grep -q "^$version main .*online"; then
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 30); do pg_isready -q -h localhost && break; sleep 1; done
  pg_isready -q -h localhost || { echo "PostgreSQL did not start" >&2; exit 1; }
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='crm'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE crm LOGIN SUPERUSER PASSWORD 'crm'\""
  export CRM_TEST_PG_URL="postgresql+psycopg://crm:crm@localhost:5432/postgres"
fi

# Let Python cache compiled modules even where the environment turns that off: otherwise every xdist
# worker, studio, API server and CLI process of the run compiles the project's modules (and pytest
# rewrites the test modules' asserts) again.
unset PYTHONDONTWRITEBYTECODE

.venv/bin/ruff check .
.venv/bin/ruff format --check .

# One xdist worker more than the cores: many tests wait on a server, a subprocess or the browser,
# and the extra worker fills those waits (2 cores: 294 s with 2 workers, 269 s with 3, 286 s with 4).
workers=$(( $(nproc) + 1 ))
if [ "$fast" = 1 ]; then
  exec .venv/bin/python -m pytest -n "$workers" --max-worker-restart=0 -m "not slow and not browser and not postgres" "$@"
fi
# A crashed worker ends the run (its test named) instead of being replaced: a replacement runs the
# crashed test again, up to eight times, and pytest-xdist 3.8's scope scheduling can hang after one.
exec .venv/bin/python -m pytest -n "$workers" --max-worker-restart=0 "$@"
