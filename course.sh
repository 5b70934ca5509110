#!/usr/bin/env bash
# The course's commands. Each creates .venv (Python 3.11 + pip is all it needs) and installs
# what it needs by itself, with the exact versions in constraints.txt.
#
#   bash course.sh run [--profile smoke|laptop|full] [--only 00 05]   run every lesson into build/PROFILE
#   bash course.sh test                                                 the whole test suite (what CI runs)
#   bash course.sh lab                                                  open the course in JupyterLab
#   bash course.sh setup                                                only create/update .venv
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
VENV=${CANCER_COURSE_VENV:-$ROOT/.venv}
START=$(date +%s)

elapsed() { local s=$(( $(date +%s) - START )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

pick_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: the course needs Python 3.11 or newer on PATH as python3.11 or python3" >&2
  return 1
}

setup() {
  local stamp_file="$VENV/.cancer-course-stamp" stamp
  stamp=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
  if [ ! -x "$VENV/bin/python" ]; then
    local py; py=$(pick_python)
    echo "== creating $VENV with $($py --version)"
    "$py" -m venv "$VENV"
  fi
  if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
    echo "== installing the course and its pinned dependencies (first time: a few minutes; log: $VENV/install.log)"
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"; } >"$VENV/install.log" 2>&1; then
      tail -n 30 "$VENV/install.log" >&2
      echo "error: installing failed; the full log is $VENV/install.log" >&2
      return 1
    fi
    echo "$stamp" >"$stamp_file"
  fi
  # Register the course's Jupyter kernel inside the venv, so papermill and JupyterLab find it.
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name cancer-course \
    --display-name "Python (cancer-course)" >/dev/null
  export PATH="$VENV/bin:$PATH"
}

# tests/test_browser.py drives Debian's Chromium headless; install it when it is missing (as root,
# with apt-get). Elsewhere say so and go on: that test then skips, naming the reason.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Chromium for the browser test (apt-get; log: $VENV/chromium-install.log)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
        >"$VENV/chromium-install.log" 2>&1; then
      echo "note: installing Chromium failed (see $VENV/chromium-install.log): the browser test will skip" >&2
    fi
  else
    echo "note: /usr/bin/chromium is missing and needs root and apt-get to install: the browser test will skip" >&2
  fi
  return 0
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup)
    setup
    echo "ready: $VENV ($(elapsed))"
    ;;
  run)
    setup
    set +e
    cancer-course lessons "$@"
    rc=$?
    set -e
    echo "== course.sh run finished in $(elapsed) (exit $rc)"
    exit $rc
    ;;
  test)
    setup
    export CANCER_COURSE_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0
    ensure_chromium
    echo "== lint (ruff)"
    ruff check .
    echo "== notebook conventions"
    cancer-course notebooks check
    echo "== exercises match their solutions"
    cancer-course exercises check
    echo "== pytest: unit tests, every notebook with papermill (smoke), nbval on checked cells"
    set +e
    python -m pytest tests notebooks solutions exercises --nbval-lax --nbval-current-env \
      -p no:cacheprovider "$@"
    rc=$?
    set -e
    if [ $rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; rc=1; fi
    echo "== course.sh test finished in $(elapsed) (exit $rc)"
    exit $rc
    ;;
  lab)
    setup
    exec jupyter lab --notebook-dir="$ROOT" "$@"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    ;;
esac
