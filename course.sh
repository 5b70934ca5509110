#!/usr/bin/env bash
# The course's commands. Each creates .venv (Python 3.11 + pip is all it needs) and installs
# what it needs by itself, with the exact versions in constraints.txt; the stack lanes of `test`
# add their own venvs (the colab lane needs Python 3.13, and skips, saying so, without it).
#
#   bash course.sh run [--profile smoke|laptop|full] [--only 00 05]   run every lesson into build/PROFILE
#   bash course.sh test                                                 the whole test suite (what CI runs):
#                                                                         the main lane, the stack lanes beside it
#   bash course.sh test --stack colab|minimum                           one stack lane only (see below)
#   bash course.sh test --main [PYTEST ARGS]                            the main lane only (pytest args allowed)
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

# Installing needs disk: TensorFlow alone is about 2 GB in a venv. Say so before pip fails halfway
# with "No space left on device" (seen once on a CI machine), naming the folder and what to do.
need_space() {  # DIR MEGABYTES WHAT
  local dir=$1 need=$2 what=$3 free
  mkdir -p "$dir"
  free=$(df -Pm "$dir" 2>/dev/null | awk 'NR == 2 {print $4}')
  if [ -n "$free" ] && [ "$free" -lt "$need" ]; then
    echo "error: $what needs about $need MB free on the disk of $dir; only $free MB are free." \
      "Free some space (build/, .venv-stacks/ and old venvs can be deleted and are made again), or set" \
      "CANCER_COURSE_VENV to a folder on a larger disk." >&2
    return 1
  fi
}

# After a failed pip install: its last lines, and the cause in one line when it is a full disk.
install_failed() {  # LOG WHAT
  tail -n 30 "$1" >&2
  if grep -q "No space left on device" "$1"; then
    echo "error: $2 failed: the disk is full ($(df -Pm "$(dirname "$1")" | awk 'NR == 2 {print $4}') MB free)." \
      "Free some space (build/ and .venv-stacks/ can be deleted) and run the command again; the full log is $1" >&2
  else
    echo "error: $2 failed; the full log is $1" >&2
  fi
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
    need_space "$VENV" 3500 "installing the course and its dependencies" || return 1
    echo "== installing the course and its pinned dependencies (first time: a few minutes; log: $VENV/install.log)"
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"; } >"$VENV/install.log" 2>&1; then
      install_failed "$VENV/install.log" "installing the course"
      return 1
    fi
    echo "$stamp" >"$stamp_file"
  fi
  # Register the course's Jupyter kernel inside the venv, so papermill and JupyterLab find it.
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name cancer-course \
    --display-name "Python (cancer-course)" >/dev/null
  export PATH="$VENV/bin:$PATH"
}

# A stack lane runs every notebook (smoke) and the unit tests that depend on library versions on
# another stack of packages: cancer_course/stacks/NAME.txt names its Python and its exact versions
# (colab: Google Colab's runtime; minimum: the oldest versions pyproject.toml admits). Each lane has
# its own venv in .venv-stacks/NAME; tests/test_stack_lane.py says how the course gets installed
# there (as on Colab, or from a wheel) and where the notebooks run (a copy, outside the checkout).
STACKS="minimum colab"
STACK_UNIT_TESTS="tests/test_stacks.py tests/test_widgets.py tests/test_blocks.py tests/test_model.py
  tests/test_data.py tests/test_synth.py tests/test_audit.py tests/test_evaluation.py tests/test_explain.py"

# The interpreter for Python X.Y: python X.Y on PATH, else pyenv's. Prints nothing when missing.
find_python() {
  local want=$1 candidate
  for candidate in "python$want" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/python"$want"; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

LANES_FAILED=""
LANES_SKIPPED=""
stack_lane() {
  local name=$1 file="cancer_course/stacks/$1.txt" lane_start=$(date +%s)
  if [ ! -f "$file" ]; then
    echo "error: there is no stack '$name' (cancer_course/stacks/$name.txt); choose one of: $STACKS" >&2
    return 2
  fi
  local want py venv stamp
  want=$(sed -n 's/^# python: *//p' "$file" | head -n 1)
  if ! py=$(find_python "$want"); then
    echo "== stack lane '$name': SKIPPED - it needs Python $want, found neither python$want on PATH nor in pyenv" \
      "(install it, e.g. \`pyenv install $want\`, to run this lane)" >&2
    LANES_SKIPPED="$LANES_SKIPPED $name"
    return 0
  fi
  venv="$ROOT/.venv-stacks/$name"
  stamp=$(cat "$file" cancer_course/stacks/harness.txt pyproject.toml | sha256sum | cut -c1-16)
  if [ ! -x "$venv/bin/python" ]; then
    echo "== stack lane '$name': creating $venv with $($py --version)"
    "$py" -m venv "$venv"
  fi
  if [ "$(cat "$venv/.cancer-course-stamp" 2>/dev/null)" != "$stamp" ]; then
    need_space "$venv" 3500 "the '$name' stack lane's venv" || return 1
    echo "== stack lane '$name': installing its versions ($file; log: $venv/install.log)"
    rm -rf "$venv/wheelhouse"
    # The wheelhouse holds what a lane installs with no network: the build backend, and on Colab
    # what Colab lacks and the setup cell installs (keras-tuner, kt-legacy; versions as in constraints.txt).
    if ! { "$venv/bin/python" -m pip install -q --upgrade pip &&
           "$venv/bin/python" -m pip install -q -r "$file" -r cancer_course/stacks/harness.txt &&
           "$venv/bin/python" -m pip download -q --no-deps -d "$venv/wheelhouse" setuptools wheel \
             $(grep -E '^(keras-tuner|kt-legacy)==' constraints.txt); } >"$venv/install.log" 2>&1; then
      install_failed "$venv/install.log" "installing the '$name' stack"
      return 1
    fi
    echo "$stamp" >"$venv/.cancer-course-stamp"
  fi
  "$venv/bin/python" -m ipykernel install --sys-prefix --name "cancer-course-$name" \
    --display-name "Python (cancer-course, $name stack)" >/dev/null
  # Start from what the stack has: the course (and on Colab keras-tuner) is installed below or by
  # the notebooks' own setup cell, never left over from an earlier run.
  "$venv/bin/python" -m pip uninstall -q -y cancer-course >/dev/null 2>&1 || true
  if [ "$name" = colab ]; then
    "$venv/bin/python" -m pip uninstall -q -y keras-tuner kt-legacy >/dev/null 2>&1 || true
  else  # a learner's `pip install`: a wheel, non-editable, its dependencies checked against the stack
    rm -rf "$ROOT/build/stack-wheel"
    if ! { "$venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$ROOT/build/stack-wheel" . &&
           "$venv/bin/python" -m pip install -q -c "$file" "$ROOT"/build/stack-wheel/cancer_course-*.whl; } \
         >"$venv/course-install.log" 2>&1; then
      tail -n 30 "$venv/course-install.log" >&2
      echo "error: the course does not install on the '$name' stack; log: $venv/course-install.log" >&2
      return 1
    fi
  fi
  echo "== stack lane '$name' ($("$venv/bin/python" --version), $file): every notebook in smoke, then unit tests"
  set +e
  # shellcheck disable=SC2086
  CANCER_COURSE_STACK=$name CANCER_COURSE_WHEELHOUSE="$venv/wheelhouse" \
    CANCER_COURSE_STACK_WORK="$ROOT/build/stack-$name/content" CANCER_COURSE_KERNEL="cancer-course-$name" \
    CANCER_COURSE_DATA="$ROOT/build/stack-$name/data" \
    "$venv/bin/python" -m pytest tests/test_stack_lane.py $STACK_UNIT_TESTS -p no:cacheprovider -q
  local rc=$?
  set -e
  local s=$(( $(date +%s) - lane_start ))
  echo "== stack lane '$name' finished in $((s / 60))m$(printf '%02d' $((s % 60)))s (exit $rc)"
  [ $rc -eq 0 ] || LANES_FAILED="$LANES_FAILED $name"
  return 0
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
    if [ "${1:-}" = --stack ]; then
      [ -n "${2:-}" ] || { echo "error: --stack needs a name: one of $STACKS" >&2; exit 2; }
      export CANCER_COURSE_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0
      stack_lane "$2" || exit $?
      [ -z "$LANES_FAILED" ] || exit 1
      exit 0
    fi
    all_lanes=yes
    if [ "${1:-}" = --main ]; then shift; all_lanes=no; fi
    [ $# -gt 0 ] && all_lanes=no  # pytest arguments: the main lane only
    export CANCER_COURSE_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0
    if [ $all_lanes = yes ]; then
      # The stack lanes run one after the other beside the main lane: each of the three is mostly
      # one busy core (kernel start, imports, eager smoke training), and the machine has two.
      rm -rf "$ROOT/build/lanes"; mkdir -p "$ROOT/build/lanes"
      (
        for name in $STACKS; do stack_lane "$name" || LANES_FAILED="$LANES_FAILED $name"; done
        echo "$LANES_FAILED" >"$ROOT/build/lanes/failed"
        echo "$LANES_SKIPPED" >"$ROOT/build/lanes/skipped"
      ) >"$ROOT/build/lanes/stacks.log" 2>&1 &
      stacks_pid=$!
      echo "== the stack lanes ($STACKS) run beside the main lane; their log: build/lanes/stacks.log"
    fi
    setup
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
    echo "== main lane finished in $(elapsed) (exit $rc)"
    [ $rc -eq 0 ] || LANES_FAILED="main"
    if [ $all_lanes = yes ]; then
      echo "== waiting for the stack lanes"
      wait "$stacks_pid" || true
      echo "== the stack lanes' log (build/lanes/stacks.log):"
      cat "$ROOT/build/lanes/stacks.log"
      if [ -f "$ROOT/build/lanes/failed" ]; then
        LANES_FAILED="$LANES_FAILED$(cat "$ROOT/build/lanes/failed")"
        LANES_SKIPPED="$(cat "$ROOT/build/lanes/skipped")"
      else
        LANES_FAILED="$LANES_FAILED (the stack lanes ended early)"
      fi
    fi
    [ -z "$LANES_SKIPPED" ] || echo "note: skipped stack lane(s):$LANES_SKIPPED (their Python is missing; see above)"
    if [ -n "$LANES_FAILED" ]; then
      echo "== course.sh test finished in $(elapsed): FAILED in$LANES_FAILED" >&2
      exit 1
    fi
    echo "== course.sh test finished in $(elapsed): every lane passed"
    ;;
  lab)
    setup
    exec jupyter lab --notebook-dir="$ROOT" "$@"
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    ;;
esac
