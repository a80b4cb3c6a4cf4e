#!/usr/bin/env bash
# Build the container images and run them as production would: hardened, read-only, no network.
#
#   packaging/container/test_container.sh [--cuda] [--keep] [--no-build]
#
# 1. a base image: $PYTHON_IMAGE when set (e.g. python:3.11.11-slim-bookworm from a registry);
#    otherwise localhost/obscura-base:bookworm, made once from Debian's packages with
#    debootstrap (minbase + python3 + python3-venv) and imported (needs root and debootstrap)
# 2. builds packaging/container/Dockerfile (targets batch and serve) from that base, with the
#    host's CA bundle as a build secret for pip (PIP_CERT, or /etc/ssl/certs/ca-certificates.crt)
# 3. `obscura sample` inside the image, then the batch on it with
#    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --pids-limit 256
#    --memory 6g --user 10001:10001 --network=none; checks summary.csv, the output's frame count
#    and the audit report (frames, the output's size and SHA-256, the leak check)
# 4. the serve image, as hardened, with a bearer token: waits for its HEALTHCHECK, then runs
#    serve_smoke.py inside it (the job life cycle over loopback) and checks nothing is left in /jobs
# 5. with --cuda: builds Dockerfile.cuda (CUDA from the nvidia-* wheels when the base is local)
#    and checks the models and the device line; it cannot run on a GPU without one
#
# Environment: ENGINE (podman or docker; default: whichever is installed, podman first),
# PYTHON_IMAGE, CUDA_IMAGE, WORK (scratch folder, default /tmp/obscura-container-test),
# LEAK_STRIDE (10), NO_CACHE=1 (build without the layer cache, to time a real build).
# Prints the build times, image sizes and each check; exit 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."

CUDA=0 KEEP=0 BUILD=1
for a in "$@"; do
  case "$a" in
    --cuda) CUDA=1 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    *) echo "usage: $0 [--cuda] [--keep] [--no-build]" >&2; exit 2 ;;
  esac
done

ENGINE="${ENGINE:-$(command -v podman || command -v docker || true)}"
[ -n "$ENGINE" ] || { echo "no container engine (podman or docker) found" >&2; exit 3; }
ENGINE="$(basename "$ENGINE")"
WORK="${WORK:-/tmp/obscura-container-test}"
LEAK_STRIDE="${LEAK_STRIDE:-10}"
TAG="${TAG:-test}"
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF="$PWD/packaging/container/containers.conf"
fi
FORMAT=()
[ "$ENGINE" = podman ] && FORMAT=(--format docker)  # OCI images drop HEALTHCHECK
[ -n "${NO_CACHE:-}" ] && FORMAT+=(--no-cache)      # a build from scratch (its real time)
CERT="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
SECRET=()
[ -f "$CERT" ] && SECRET=(--secret "id=pip_cert,src=$CERT")
HARDEN=(--read-only --tmpfs /tmp:rw,size=2g --cap-drop ALL --security-opt no-new-privileges
        --pids-limit 256 --memory 6g --user 10001:10001 --network=none)

mkdir -p "$WORK"
fail=0
check() {  # check NAME COMMAND...: one line per check
  if "${@:2}"; then echo "  ok    $1"; else echo "  FAIL  $1"; fail=1; fi
}
secs() { echo $(( $(date +%s) - $1 )); }
size_mb() { $ENGINE image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1e6}'; }

echo "engine: $($ENGINE --version)"

# -- 1. the base ---------------------------------------------------------------------------------
if [ -z "${PYTHON_IMAGE:-}" ]; then
  PYTHON_IMAGE=localhost/obscura-base:bookworm
  if ! $ENGINE image exists "$PYTHON_IMAGE" 2>/dev/null && ! $ENGINE image inspect "$PYTHON_IMAGE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { echo "no base image and no debootstrap (apt-get install debootstrap)" >&2; exit 3; }
    t=$(date +%s)
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
      bookworm "$WORK/rootfs" >"$WORK/debootstrap.log" 2>&1
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" -c . | $ENGINE import --change 'CMD ["/bin/bash"]' - "$PYTHON_IMAGE" >/dev/null
    rm -rf "$WORK/rootfs"
    echo "base: $PYTHON_IMAGE made from Debian bookworm (debootstrap minbase + python3) in $(secs "$t") s"
  fi
fi
echo "base: $PYTHON_IMAGE ($(size_mb "$PYTHON_IMAGE") MB)"

# -- 2. build ------------------------------------------------------------------------------------
BATCH="localhost/obscura-batch:$TAG" SERVE="localhost/obscura-serve:$TAG"
if [ "$BUILD" = 1 ]; then
  t=$(date +%s)
  $ENGINE build --network=host "${FORMAT[@]}" "${SECRET[@]}" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
    -f packaging/container/Dockerfile --target batch -t "$BATCH" . >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; echo "build failed: $WORK/build.log" >&2; exit 1; }
  echo "build: $BATCH in $(secs "$t") s"
  t=$(date +%s)
  $ENGINE build --network=host "${FORMAT[@]}" "${SECRET[@]}" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
    -f packaging/container/Dockerfile --target serve -t "$SERVE" . >"$WORK/build-serve.log" 2>&1 \
    || { tail -40 "$WORK/build-serve.log"; echo "build failed: $WORK/build-serve.log" >&2; exit 1; }
  echo "build: $SERVE in $(secs "$t") s (its layers are the batch image's)"
fi
echo "size: $BATCH $(size_mb "$BATCH") MB, $SERVE $(size_mb "$SERVE") MB"

# -- 3. the batch, hardened ----------------------------------------------------------------------
RUN="$WORK/run"
rm -rf "$RUN"
mkdir -p "$RUN/in" "$RUN/out"
chown 10001:10001 "$RUN/in" "$RUN/out"
$ENGINE run --rm "${HARDEN[@]}" -v "$RUN/in:/work" --entrypoint obscura "$BATCH" \
  sample /work/sample.mp4 --truth /tmp/truth.json -q
chown -R root:root "$RUN/in"
t=$(date +%s)
set +e
$ENGINE run --rm "${HARDEN[@]}" -v "$RUN/in:/in:ro" -v "$RUN/out:/out" "$BATCH" \
  --leak-stride "$LEAK_STRIDE" >"$RUN/batch.log" 2>&1
rc=$?
set -e
echo "batch run (hardened, sample clip, leak stride $LEAK_STRIDE): exit $rc in $(secs "$t") s"
tail -2 "$RUN/batch.log" | sed 's/^/  | /'
frames=$($ENGINE run --rm "${HARDEN[@]}" -v "$RUN/out:/out:ro" --entrypoint obscura "$BATCH" \
  probe /out/sample.mp4 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["frame_count"])')
check "exit code 0, or 1 for a leak-check verdict only" test "$rc" = 0 -o "$rc" = 1
check "the output has 180 frames (got $frames)" test "$frames" = 180
check "summary.csv, report and leak check agree with the output" python3 - "$RUN/out" <<'EOF'
import csv, hashlib, json, sys
from pathlib import Path

out = Path(sys.argv[1])
rows = list(csv.DictReader(open(out / "summary.csv")))
row = rows[0]
report = json.loads((out / "sample.mp4.report.json").read_text())
data = (out / "sample.mp4").read_bytes()
leak = report["leak_check"]
verdict = "passed" if leak["gate"]["passed"] else f"{leak['gate']['failing_events']} event(s) over the gate"
print(f"  | summary: {row['status']}, {row['frames']} frames, {row['tracks']} tracks, {row['leak_events']} leak "
      f"events; leak check {verdict} ({leak['frames_checked']} frames checked)")
ok = (len(rows) == 1 and row["file"] == "sample.mp4" and row["frames"] == "180"
      and report["format"] == "obscura-audit-report" and report["export"]["frames"] == 180
      and report["output"]["size"] == len(data) and report["output"]["sha256"] == hashlib.sha256(data).hexdigest()
      and leak["frames_checked"] > 0 and int(row["tracks"]) >= 2
      and (row["status"] == "ok") == leak["gate"]["passed"]
      and (row["status"] == "ok" or row["message"].startswith("leak check failed")))
sys.exit(0 if ok else 1)
EOF
check "nothing written into /in" test "$(find "$RUN/in" -newer "$RUN/in/sample.mp4" -type f | wc -l)" = 0

# -- 4. the service, hardened --------------------------------------------------------------------
python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$WORK/token"
chmod 0644 "$WORK/token"
NAME="obscura-serve-test-$$"
$ENGINE rm -f "$NAME" >/dev/null 2>&1 || true
t=$(date +%s)
# the job folder: a volume owned by the service's user (a tmpfs with uid= is refused by podman 4.3)
rm -rf "$WORK/jobs" && install -d -o 10001 -g 10001 -m 0700 "$WORK/jobs"
$ENGINE run -d --name "$NAME" "${HARDEN[@]}" -v "$WORK/jobs:/jobs" \
  -v "$WORK/token:/run/secrets/obscura-token:ro" "$SERVE" --jobs 1 >/dev/null
healthy=0
for _ in $(seq 1 60); do
  if [ "$ENGINE" = podman ]; then
    podman healthcheck run "$NAME" >/dev/null 2>&1 && { healthy=1; break; }
  else
    [ "$(docker inspect --format '{{.State.Health.Status}}' "$NAME")" = healthy ] && { healthy=1; break; }
  fi
  sleep 1
done
check "serve: HEALTHCHECK healthy after $(secs "$t") s" test "$healthy" = 1
smoke=$($ENGINE exec -i "$NAME" /opt/obscura/venv/bin/python - <packaging/container/serve_smoke.py || true)
echo "  | $smoke"
check "serve: job life cycle in the container (token, POST, result, report, DELETE)" python3 -c '
import json, sys
f = json.loads(sys.argv[1])
sys.exit(0 if (f["healthz"], f["no_token"], f["post"], f["status"], f["result_frames"], f["report_frames"],
               f["report_leak_check"], f["delete"], f["after_delete"], f["left_in_jobs"])
         == (200, 401, 202, "done", 12, 12, True, "done", 404, []) else 1)' "${smoke:-{\}}"
$ENGINE logs "$NAME" 2>&1 | tail -3 | sed 's/^/  | /'
$ENGINE rm -f "$NAME" >/dev/null

# -- 5. CUDA ---------------------------------------------------------------------------------------
if [ "$CUDA" = 1 ]; then
  CUDA_TAG="localhost/obscura-batch:$TAG-cuda"
  if [ "$BUILD" = 1 ]; then
    cuda_args=(--build-arg "CUDA_IMAGE=${CUDA_IMAGE:-$PYTHON_IMAGE}")
    [ -z "${CUDA_IMAGE:-}" ] && cuda_args+=(--build-arg CUDA_FROM_PIP=1)
    t=$(date +%s)
    $ENGINE build --network=host "${FORMAT[@]}" "${SECRET[@]}" "${cuda_args[@]}" \
      -f packaging/container/Dockerfile.cuda --target batch -t "$CUDA_TAG" . >"$WORK/build-cuda.log" 2>&1 \
      || { tail -40 "$WORK/build-cuda.log"; echo "CUDA build failed: $WORK/build-cuda.log" >&2; exit 1; }
    echo "build: $CUDA_TAG in $(secs "$t") s"
  fi
  echo "size: $CUDA_TAG $(size_mb "$CUDA_TAG") MB"
  check "cuda image: models verify" $ENGINE run --rm "${HARDEN[@]}" --entrypoint obscura "$CUDA_TAG" models verify
  line=$($ENGINE run --rm "${HARDEN[@]}" --entrypoint /opt/obscura/venv/bin/python "$CUDA_TAG" -c \
    'import app, onnxruntime as o; from app.detection.detector import Detector, DetectorConfig; print(o.get_available_providers(), Detector(DetectorConfig(device="auto")).describe())' 2>&1 | tail -1)
  echo "  | $line"
  check "cuda image: ONNX Runtime offers the CUDA provider" grep -q CUDAExecutionProvider <<<"$line"
  echo "  (no GPU here: the CUDA provider is offered, and --device auto falls back to the CPU)"
fi

[ "$KEEP" = 1 ] || rm -rf "$RUN"
if [ "$fail" = 0 ]; then echo "test_container: all checks passed"; else echo "test_container: FAILED"; fi
exit "$fail"
