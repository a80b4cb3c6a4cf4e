#!/usr/bin/env bash
# GPU benchmark for the speed issue: provider check, model ms at 640/1280 x batch 1/8, and
# `obscura process` fps at 1080p. Needs an NVIDIA GPU, onnxruntime-gpu's CUDA libraries
# (pip install 'onnxruntime-gpu[cuda,cudnn]') and ../shared/data (the clip is made from it).
# Under 5 minutes: `bash bench/gpu_bench.sh [FRAMES]`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"
timeout 290 "$PY" bench/gpu_bench.py --device cuda --frames "${1:-120}"
