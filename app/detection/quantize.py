"""int8 (QDQ) graphs of the detectors for the CPU, built on this machine from the hash-checked models.

The float model stays the reference. The int8 graph is made by ONNX Runtime's own static
quantiser (``onnxruntime.quantization.quantize_static``: QDQ format, weights int8 per channel,
activations uint8) from two inputs only: the float model's verified bytes, and the activation
ranges in ``models/calibration/ID.json`` (ONNX Runtime's calibration-cache format, made once by
``bench/calibrate_int8.py`` from real photos; numbers, no weights, no pixels). So no photo is
needed on the user's machine, and the same inputs give the same graph.

The graph is built in memory (two to five seconds a model on 2 cores). It is kept on disk for the
next start only when the manifest pins its sha256 for the installed ONNX Runtime and onnx
(``int8_sha256``: the quantiser is deterministic, so the same float model, ranges and versions
give the same bytes): a cached file is loaded only when it has that pinned hash, so it is as
trusted as the float model itself. A cached file beside its own hash record could be swapped
together with the record, so without a pin (other versions) the graph is built at each start and
never read back. Without a ranges file, or when quantising fails, the float graph runs and
:func:`int8_bytes` returns None with the reason in :data:`last_note`.

On this 2-core AVX-512 VNNI CPU (bench/pipeline_bench.py): CenterFace at 1920x1088 runs about
3x faster, at 640 about 1.6x; recall is measured in the speed issue's note.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from app.detection.pinned import read_pinned, write_cache

CALIBRATION_DIR = Path("models") / "calibration"
last_note: dict[str, str] = {}  # model id -> why the float graph runs (no ranges, failed build)


def calibration_path(model_id: str) -> Path | None:
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "_data" / f"calibration-{model_id}.json", here.parent / CALIBRATION_DIR / f"{model_id}.json"):
        if cand.is_file():
            return cand
    return None


def float_graph(spec, data: bytes):
    """The float graph the product runs for ``spec`` (an ``onnx.ModelProto``), at opset >= 13
    (per-channel QDQ needs it)."""
    import onnx
    from onnx import version_converter

    if spec.decoder == "centerface":
        from app.detection.faces import prepare_centerface

        data = prepare_centerface(data)
    model = onnx.load_from_string(data)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    if opset < 13:
        model = version_converter.convert_version(model, 13)
    return model






def versions_key() -> str:
    """The key of the manifest's ``int8_sha256`` pins: the versions that make the graph."""
    import onnxruntime

    try:  # not ``import onnx``: that alone costs seconds, and the cached graph needs no onnx
        from importlib.metadata import version

        onnx_version = version("onnx")
    except Exception:  # noqa: BLE001 - no onnx installed: no pin can match
        onnx_version = "?"
    return f"onnxruntime {onnxruntime.__version__}, onnx {onnx_version}"


def cache_path(spec) -> Path:
    from app.detection.models import models_dir

    return models_dir() / f"{spec.id}.int8.onnx"


def int8_bytes(spec, data: bytes) -> bytes | None:
    """The int8 graph of ``spec`` (whose verified float bytes are ``data``): the cached graph when
    the manifest pins its hash for these versions and the file has it, else built in memory (and
    cached when it has the pinned hash)."""

    calib = calibration_path(spec.id)
    if calib is None:
        last_note[spec.id] = "no calibration ranges for it: the float graph runs"
        return None
    pin = (getattr(spec, "int8_sha256", None) or {}).get(versions_key())
    cached = cache_path(spec)
    if pin:
        got = read_pinned(cached, pin)
        if got is not None:
            return got
    try:
        q = _build(spec, data, calib)
    except Exception as e:  # noqa: BLE001 - any failure: the float graph is the safe fallback
        last_note[spec.id] = f"int8 graph could not be built ({type(e).__name__}): the float graph runs"
        return None
    if pin and hashlib.sha256(q).hexdigest() == pin:
        write_cache(cached, q)
    return q


def _build(spec, data: bytes, calib: Path) -> bytes:
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    model = float_graph(spec, data)
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    with tempfile.TemporaryDirectory(prefix="obscura-q8-") as td:
        out = os.path.join(td, "int8.onnx")
        quantize_static(model, out, None, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=_excluded(spec, model), calibration_cache_path=str(calib),
                        extra_options={"ActivationSymmetric": False})
        q = onnx.load(out)
        return q.SerializeToString()


def _excluded(spec, model) -> list[str]:
    """Nodes kept in float: YOLO's box decoding tail (after the last convolutions: the DFL softmax,
    the anchor arithmetic and the concatenation of boxes and scores), where int8 steps would move
    box corners by whole pixels."""
    if spec.decoder == "centerface":
        return []
    nodes = list(model.graph.node)
    last_conv = max((i for i, n in enumerate(nodes) if n.op_type == "Conv"), default=-1)
    return [n.name for n in nodes[last_conv + 1 :] if n.name]

