# The virtual environment of studio.sh and test.sh (sourced by both, from the repository's root).
#
# PYTHON, the interpreter that makes .venv: $PYTHON when set; else Debian's own /usr/bin/python3
# when it is 3.11 or newer and can make a virtual environment (Debian builds it with profile-guided
# and link-time optimization: the test suite takes about a tenth less CPU than on a plain source
# build of Python, such as pyenv's default); else the first python3 on PATH.
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  if /usr/bin/python3 -c 'import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    PYTHON=/usr/bin/python3
  fi
fi

# Make .venv with $PYTHON, or bring it up to date; one made by another interpreter is made anew
# (a virtual environment cannot change its interpreter in place).
make_venv() {
  local interpreter
  interpreter=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')
  if [ -f .venv/pyvenv.cfg ] && ! grep -qxF "executable = $interpreter" .venv/pyvenv.cfg; then
    echo "Making .venv anew with $interpreter" >&2
    "$PYTHON" -m venv --clear .venv
  else
    "$PYTHON" -m venv .venv
  fi
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
}
