#!/usr/bin/env bash
# Build the one-folder bundle: dist/obscura/ (editor + CLI + models), checked before and after.
#
#   packaging/pyinstaller/build.sh [--cuda] [--dist DIR] [--work DIR]
#
# Needs: the product installed in the Python that runs this (PYTHON, default: python3), PyInstaller
# in it (pip install pyinstaller), and the models fetched (obscura models fetch). Uses no network.
#   --cuda   keep onnxruntime's CUDA provider (+~290 MB); the target then needs the CUDA runtime and
#            cuDNN that the installed onnxruntime-gpu was built for. Default: CPU-only bundle.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PY="${PYTHON:-python3}"
dist="$repo/dist"
work="$repo/build/pyinstaller"
while [ $# -gt 0 ]; do
    case "$1" in
        --cuda) export OBSCURA_BUNDLE_CUDA=1 ;;
        --dist) dist="$2"; shift ;;
        --work) work="$2"; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

cd "$repo"
"$PY" -c "import PyInstaller" 2>/dev/null || { echo "build.sh: PyInstaller is not installed in $PY (pip install pyinstaller)" >&2; exit 1; }
echo "== checking the models (sha256)"
"$PY" -m app models verify || { echo "build.sh: run 'obscura models fetch' first" >&2; exit 1; }
# the sample's portrait, so that 'obscura sample' works offline in the bundle (fetched once if missing)
"$PY" -c "from app.assets import asset; asset('astronaut')" || echo "build.sh: warning: no sample portrait" >&2
: "${OBSCURA_BUNDLE_MODELS:=$("$PY" -c 'from app.assets import models_dir; print(models_dir())')}"
export OBSCURA_BUNDLE_MODELS

echo "== pyinstaller"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath "$work" \
    "$here/obscura.spec"
secs=$(( $(date +%s) - start ))

echo "== checking the bundle"
bin="$dist/obscura/obscura"
[ -x "$bin" ] || bin="$dist/obscura/obscura.exe"
"$bin" --version
env -u OBSCURA_MODELS "$bin" models verify
echo "built $dist/obscura in ${secs} s, $(du -sh "$dist/obscura" | cut -f1)"
