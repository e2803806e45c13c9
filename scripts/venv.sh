# The virtual environment of studio.sh and test.sh (sourced by both, from the repository's root).
#
# CRM_PYTHON, the interpreter that makes .venv: $CRM_PYTHON when set; else Debian's own
# /usr/bin/python3 when it is 3.11 or newer and can make a virtual environment (Debian builds it
# with profile-guided and link-time optimization: the test suite takes about a tenth less CPU than
# on a plain source build of Python, such as pyenv's default); else the first python3 on PATH.
if [ -z "${CRM_PYTHON:-}" ]; then
  CRM_PYTHON=python3
  if /usr/bin/python3 -c 'import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    CRM_PYTHON=/usr/bin/python3
  fi
fi

# The Debian packages $CRM_PYTHON still needs to make a virtual environment (a fresh Debian has
# python3 without its venv module, a minimal one no python3 at all).
missing_python_packages() {
  if ! command -v "$CRM_PYTHON" >/dev/null 2>&1; then
    echo python3 python3-venv
  elif ! "$CRM_PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo python3-venv
  fi
}

# Install Debian packages when running as root; otherwise name the missing ones and stop.
install_debian_packages() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
  else
    echo "missing Debian packages: $* (run as root or install them)" >&2
    exit 1
  fi
}

# Make .venv with $CRM_PYTHON (3.11 or newer), or bring it up to date; one made by another interpreter
# is made anew (a virtual environment cannot change its interpreter in place).
make_venv() {
  local interpreter
  "$CRM_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "Python 3.11 or newer is needed (found $("$CRM_PYTHON" --version))" >&2; exit 1; }
  interpreter=$("$CRM_PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')
  if [ -f .venv/pyvenv.cfg ] && ! grep -qxF "executable = $interpreter" .venv/pyvenv.cfg; then
    echo "Making .venv anew with $interpreter" >&2
    "$CRM_PYTHON" -m venv --clear .venv
  else
    "$CRM_PYTHON" -m venv .venv
  fi
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
}
