"""Property-based fuzzing of the project loader and the probe (hypothesis).

The suite runs a short, derandomized pass (reproducible: same inputs every run). A longer run:

    OBSCURA_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py        # N inputs per target, new seed each run
    python bench/fuzz.py --minutes 10                             # time-boxed, prints inputs tried/failures

See tests/fuzz_targets.py for the targets, the strategies and the properties.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz_targets import (
    ProbeWorker,
    check_project_bytes,
    check_project_dict,
    damaged_clip,
    fresh_tmp,
    mutated_project,
    raw_project_bytes,
    write_probe_seeds,
)

LONG = int(os.environ.get("OBSCURA_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int):
    """``examples`` inputs, derandomized, in the suite; OBSCURA_FUZZ_EXAMPLES=N: N inputs, random."""
    return settings(max_examples=LONG or examples, derandomize=not LONG, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture(scope="module")
def tmp_dir():
    d = fresh_tmp()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_fuzz_project_dicts(tmp_dir):
    counts = {"ok": 0, "error": 0}

    @fuzz_settings(1500)
    @given(mutated_project())
    def run(d):
        counts[check_project_dict(d, tmp_dir)] += 1

    run()
    # the strategy must exercise both outcomes, or it is not testing much
    assert counts["ok"] > 10 and counts["error"] > 100, counts


def test_fuzz_project_bytes(tmp_dir):
    counts = {"ok": 0, "error": 0}

    @fuzz_settings(1500)
    @given(raw_project_bytes)
    def run(data):
        counts[check_project_bytes(data, tmp_dir)] += 1

    run()
    assert counts["error"] > 100, counts


@pytest.fixture(scope="module")
def probe_seeds(tmp_path_factory):
    return [(p.read_bytes(), p.suffix) for p in write_probe_seeds(tmp_path_factory.mktemp("fuzz_seeds"))]


@pytest.mark.slow
def test_fuzz_probe(probe_seeds):
    """Damaged real clips, probed in a capped worker process: a sane VideoInfo or an ObscuraError."""
    worker = ProbeWorker()
    counts = {"ok": 0, "error": 0}
    for data, ext in probe_seeds:  # the undamaged seeds probe fine
        assert worker.probe(data, ext) == {"kind": "ok"}

    @fuzz_settings(2000)
    @given(damaged_clip(probe_seeds))
    def run(clip):
        data, ext = clip
        result = worker.probe(data, ext)
        assert result["kind"] != "crash", result
        counts[result["kind"]] += 1

    try:
        run()
    finally:
        worker.close()
    assert counts["ok"] > 10 and counts["error"] > 10, counts


# -- faults the fuzzers found, kept as regressions ----------------------------------------------
def test_probe_of_a_one_frame_track_lasting_hours_has_a_positive_rate(tmp_path):
    """Found by bench/fuzz.py: a MOV whose stts says 1 sample lasting 520,094,208 ticks (40,632 s)
    has an average rate of 25/1015809 fps; snapping that to a denominator <= 1001 gave 0 fps, which
    the editor's timecodes and the export's timing cannot use."""
    import struct

    from app.media.probe import probe

    seed = write_probe_seeds(tmp_path / "seeds")[2].read_bytes()  # the small H.264 .mov
    at = seed.index(b"stts") + 4  # version/flags, entry count, then (sample count, delta) pairs
    assert struct.unpack(">II", seed[at:at + 8]) == (0, 1)
    damaged = seed[: at + 8] + struct.pack(">II", 1, 0x1F000200) + seed[at + 16:]
    path = tmp_path / "long_frame.mov"
    path.write_bytes(damaged)
    info = probe(str(path))
    assert info.fps > 0 and info.frame_count >= 1
    assert ProbeWorker().probe(damaged, ".mov")["kind"] == "ok"
