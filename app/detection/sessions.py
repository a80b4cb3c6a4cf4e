"""ONNX Runtime sessions, with the device chosen on purpose.

onnxruntime-gpu lists the CUDA provider even on a machine without a GPU, and asking for it
blindly prints pages of red errors. Here CUDA is used only when a probe session really runs on
it; otherwise the CPU provider is used, quietly, and the reason is kept for one plain line that
the CLI prints and the editor shows in its status bar.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from functools import lru_cache

os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # no 1DS telemetry (see app/__init__.py); read at import
import onnxruntime as ort  # noqa: E402

from app.errors import ObscuraError  # noqa: E402

if hasattr(ort, "disable_telemetry_events"):
    ort.disable_telemetry_events()  # in case something imported onnxruntime before Obscura did

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Device:
    name: str  # "cuda" or "cpu"
    providers: tuple
    reason: str

    def describe(self) -> str:
        return f"{self.name.upper()} ({self.reason})"


def _has_nvidia_driver() -> bool:
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/proc/driver/nvidia/version") or os.name == "nt"


@lru_cache(maxsize=1)
def cuda_requirements() -> str:
    """What the installed onnxruntime build needs to run on CUDA, read from the package itself
    (its build info and its wheel's requirements), e.g. 'CUDA 13.x and cuDNN 9'."""
    cuda = cudnn = None
    try:
        from onnxruntime.capi import build_and_package_info as info

        cuda = getattr(info, "cuda_version", None) or None
    except Exception:  # noqa: BLE001 - a CPU build has no such module
        pass
    try:
        import importlib.metadata as md

        for req in md.requires("onnxruntime-gpu") or []:
            m = re.match(r"nvidia-cudnn-cu(\d+)\s*~=\s*(\d+)", req)
            if m:
                cudnn, cuda = m.group(2), cuda or m.group(1)
    except Exception:  # noqa: BLE001 - not installed from a wheel with metadata
        pass
    if not cuda:
        return "the CUDA and cuDNN versions this onnxruntime build was made for"
    major = str(cuda).split(".")[0]
    return f"CUDA {major}.x" + (f" and cuDNN {cudnn} for CUDA {major}" if cudnn else "")


def _cuda_missing_reason() -> str:
    extras = " (pip install 'onnxruntime-gpu[cuda,cudnn]', or install them system-wide)"
    return f"CUDA libraries not found: onnxruntime {ort.__version__} needs {cuda_requirements()}{extras}"


@lru_cache(maxsize=1)
def _cuda_probe() -> tuple[bool, str]:
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False, "this onnxruntime build has no CUDA provider"
    if not _has_nvidia_driver():
        return False, "no NVIDIA GPU driver found"
    try:
        if hasattr(ort, "preload_dlls"):
            ort.preload_dlls()  # CUDA/cuDNN from the nvidia-* wheels, when installed
    except Exception:
        pass
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.log_severity_level = 4  # the probe may fail: say nothing
    try:
        sess = ort.InferenceSession(
            model.SerializeToString(),
            sess_options=so, providers=["CUDAExecutionProvider", "CPUExecutionProvider"],
        )
    except Exception as e:  # noqa: BLE001 - any failure means: no usable CUDA
        return False, f"CUDA provider failed to start ({type(e).__name__})"
    if sess.get_providers()[0] != "CUDAExecutionProvider":
        return False, _cuda_missing_reason()
    return True, "NVIDIA GPU via onnxruntime CUDA provider"


def choose_device(requested: str = "auto") -> Device:
    requested = (requested or "auto").lower()
    if requested not in DEVICES:
        raise ObscuraError(f"unknown device '{requested}' (choose auto, cpu or cuda)")
    if requested == "cpu":
        return Device("cpu", ("CPUExecutionProvider",), "requested with --device cpu")
    ok, why = _cuda_probe()
    if ok:
        return Device("cuda", ("CUDAExecutionProvider", "CPUExecutionProvider"), why)
    if requested == "cuda":
        raise ObscuraError(f"--device cuda was requested but CUDA is not usable: {why}")
    return Device("cpu", ("CPUExecutionProvider",), why)


def make_session(model: bytes, device: Device, threads: int | None = None) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if device.name == "cpu":
        so.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        return ort.InferenceSession(model, sess_options=so, providers=list(device.providers))
    except Exception as e:  # noqa: BLE001
        raise ObscuraError(f"cannot load the model into ONNX Runtime: {str(e).splitlines()[0][:200]}") from None
