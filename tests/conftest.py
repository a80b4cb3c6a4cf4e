"""Shared fixtures: real encoded test clips (written once per session), shared media, projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_factory import CLIPS, ClipSpec, write_clip


class ClipStore:
    """Writes each catalogued clip the first time a test asks for it, then reuses the file."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._made: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._made:
            spec = CLIPS[name]
            self._made[name] = write_clip(self.folder / f"{name}{spec.ext}", spec)
        return self._made[name]

    def spec(self, name: str) -> ClipSpec:
        return CLIPS[name]


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipStore:
    return ClipStore(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory):
    """The product's own demo clip (1280x720, 6 s) and its ground truth, written once."""
    from app.media.sample import write_sample

    folder = tmp_path_factory.mktemp("sample")
    path = folder / "sample.mp4"
    truth_path = folder / "sample.truth.json"
    truth = write_sample(str(path), str(truth_path))
    return path, truth_path, truth
