"""The job layer (app/jobs): one analysis job that changes no project, one delivery job (export ->
leak check -> report) with one range rule, one probe per run, and the adapters' exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.base.progress import CancelToken, run
from app.core.project import Keyframe, KeyframeSource, Project, Track
from app.core.shapes import Shape
from app.detection.detector import Detector, DetectorConfig
from app.jobs.analysis import AnalysisOptions, DetectionFacts, analysis_job, apply_analysis
from app.jobs.delivery import DeliveryOptions, LeakOptions, delivery_job, preflight
from app.jobs.process import process_job
from app.jobs.text import NOTE
from app.media.facts import open_media
from app.media.sample import truth_project
from app.media.writer import EncodeSettings
from tests.test_leakcheck import write_short_sample

REPO = Path(__file__).resolve().parents[1]
FAST = EncodeSettings(preset="ultrafast")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(DetectorConfig(device="cpu"))


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """24 frames of the sample (a real face, a real plate) at 640x360, with their truth."""
    path = tmp_path_factory.mktemp("jobs") / "short.mp4"
    truth = write_short_sample(path)
    return path, truth


def _plates_only(path: Path, truth) -> Project:
    media = open_media(str(path))
    project = truth_project(truth, media.ref())
    project.tracks = [t for t in project.tracks if t.cls != "face"]  # the face is left visible: a leak
    return project


def test_the_analysis_job_returns_tracks_and_changes_no_project(short, detector):
    path, _truth = short
    media = open_media(str(path))
    events = []
    outcome = run(analysis_job(media, detector, AnalysisOptions(extend=False)), events.append)
    assert not outcome.cancelled and outcome.built
    assert {b.class_id for b in outcome.built} == {0, 1}  # a face track and a plate track
    assert outcome.detection.ran and outcome.detection.device == detector.device.describe()
    assert outcome.detection.config["thresholds"]["face"]["score"] == detector.seed_scores()[0]
    notes = [e.message for e in events if e.stage == NOTE]
    assert notes[0].startswith("obscura: detection on CPU") and notes[-1].startswith("analysed 24 frames")

    # applying is the separate step, and it keeps the operator's work
    project = Project(media=media.ref())
    manual = Track("face-0099", "face", [Keyframe(0, Shape.rect(1, 1, 30, 30), KeyframeSource.MANUAL)])
    project.add_track(manual)
    removed, added = apply_analysis(project, outcome)
    assert removed == [] and len(added) == len(outcome.built)
    assert project.track("face-0099") is manual
    again = run(analysis_job(media, detector, AnalysisOptions(extend=False)))
    removed, added = apply_analysis(project, again)
    assert len(removed) == len(outcome.built) and project.track("face-0099") is manual


def test_a_range_delivery_numbers_leak_events_in_project_frames(short, tmp_path):
    """Frames 12..19 exported: the unmasked face's leak events are at frames 12..19 (what an editor
    seeks to and masks), while their times are the output's (from 0 s)."""
    path, truth = short
    media = open_media(str(path))
    project = _plates_only(path, truth)
    out = tmp_path / "range.mp4"
    options = DeliveryOptions(str(out), FAST, frame_range=(12, 19),
                              leak=LeakOptions(enabled=True, config=DetectorConfig(device="cpu")))
    delivery = run(delivery_job(project, media, options))
    assert not delivery.cancelled and delivery.export.frames == 8 and delivery.frame_offset == 12
    faces = [e for e in delivery.leak.leaks if e.cls == "face"]
    assert faces, [e.describe() for e in delivery.leak.events]
    for e in delivery.leak.events:
        assert 12 <= e.first_frame <= e.last_frame <= 19, e.describe()
    assert min(e.start_s for e in faces) < 0.1  # the output's own clock starts at 0
    peak = faces[0].peak_frame
    x1, y1, x2, y2 = truth[peak][0]["box"] if truth[peak][0]["cls"] == "face" else \
        next(b["box"] for b in truth[peak] if b["cls"] == "face")
    bx1, by1, bx2, by2 = faces[0].boxes[peak]
    assert bx1 < x2 and x1 < bx2 and by1 < y2 and y1 < by2  # the event's box is on the face at that frame
    report = json.loads(Path(delivery.report_paths[0]).read_text())
    assert report["export"]["frame_range"]["start"] == 12 and report["leak_check"]["frames_checked"] == 3
    # the quick default: every 6th frame of the 29.97 fps output and its last, in the project's numbers
    assert report["leak_check"]["mode"] == "quick" and report["leak_check"]["checked_frames"]["frames"] == [12, 18, 19]
    assert report["detection"]["ran"] is False  # the tracks came from elsewhere: no detection in this run


def test_delivery_after_an_analysis_reports_what_ran(short, detector, tmp_path):
    path, _truth = short
    media = open_media(str(path))
    out = tmp_path / "p.mp4"
    outcome = run(process_job(media, detector, DeliveryOptions(str(out), FAST), AnalysisOptions(extend=False)))
    assert outcome.exit_code == 0 and outcome.analysis.built
    report = outcome.delivery.report
    assert report["detection"]["ran"] is True
    assert report["detection"]["device"] == detector.device.describe()
    assert {m["id"] for m in report["detection"]["models"]} == {"centerface", "retinaface", "plate_yolov8n"}  # the face ensemble (default)
    assert report["totals"]["tracks"] == len(outcome.project.tracks) > 0
    assert DetectionFacts.none().ran is False


def test_preflight_refuses_a_bad_output_before_any_work(short, tmp_path):
    from app.errors import OutputError

    media = open_media(str(short[0]))
    for bad, why in ((tmp_path / "x.webm", "unsupported output type"), (tmp_path / "x.jpg", "a photo exports"),
                     (tmp_path / "no" / "x.mp4", "folder does not exist"), (short[0], "overwrite the input")):
        with pytest.raises(OutputError, match=why):
            preflight(media, DeliveryOptions(str(bad)))
    with pytest.raises(OutputError, match="outside the video"):
        preflight(media, DeliveryOptions(str(tmp_path / "ok.mp4"), frame_range=(10, 99)))


def test_a_cancel_during_the_export_leaves_no_file_and_a_cancel_during_the_leak_check_keeps_the_report(
        short, tmp_path):
    path, truth = short
    media = open_media(str(path))
    project = _plates_only(path, truth)
    cancel = CancelToken()
    out = tmp_path / "c.mp4"
    gen = delivery_job(project, media, DeliveryOptions(str(out), FAST), cancel=cancel)
    next(p for p in gen if p.stage == "export")
    cancel.cancel()
    assert run(gen).cancelled and not out.exists() and not list(tmp_path.iterdir())

    cancel = CancelToken()
    out = tmp_path / "l.mp4"
    gen = delivery_job(project, media, DeliveryOptions(str(out), FAST, leak=LeakOptions(
        enabled=True, config=DetectorConfig(device="cpu"))), cancel=cancel)
    next(p for p in gen if p.stage == "leak check")
    cancel.cancel()
    delivery = run(gen)
    assert not delivery.cancelled and out.is_file() and delivery.leak.cancelled
    assert "leak check cancelled" in delivery.notes
    report = json.loads(Path(delivery.report_paths[0]).read_text())
    assert report["leak_check"]["cancelled"] is True


@pytest.mark.slow
def test_process_probes_the_input_once(short, tmp_path, monkeypatch):
    """``obscura process`` scans the input's packets once (analysis, export and report share the probe);
    the leak check probes the output, which is another file."""
    import app.media.probe as probe_mod
    from app.cli import main

    scanned = []
    real = probe_mod._probe_container

    def counting(path, container, *rest):
        scanned.append(Path(path).name)
        return real(path, container, *rest)

    monkeypatch.setattr(probe_mod, "_probe_container", counting)
    out = tmp_path / "once.mp4"
    rc = main(["process", str(short[0]), "-o", str(out), "--device", "cpu", "--preset", "ultrafast",
               "--leak-check", "--leak-stride", "8", "-q"])
    assert rc in (0, 8) and out.is_file()
    assert scanned.count("short.mp4") == 1, scanned
    assert scanned.count("once.mp4") == 1, scanned  # the leak check's probe of the output


@pytest.mark.slow
def test_a_cancelled_cli_analysis_exits_130_and_writes_nothing(short, tmp_path):
    from tests.media_factory import ClipSpec, write_clip

    clip = write_clip(tmp_path / "long.mp4", ClipSpec("long", frames=300, options={"preset": "ultrafast"}))
    proj = tmp_path / "p.obscura.json"
    p = subprocess.Popen([sys.executable, "-m", "app", "analyze", str(clip), "-o", str(proj), "--device", "cpu"],
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines = []
    t0 = time.monotonic()
    for line in p.stderr:  # wait until the analysis runs, then stop it as a service manager would
        lines.append(line)
        if line.startswith("analyze:") or time.monotonic() - t0 > 120:
            break
    p.send_signal(signal.SIGTERM)
    rest = p.communicate(timeout=120)[1]
    assert p.returncode == 130, "".join(lines) + rest
    assert "cancelled" in rest and "Traceback" not in rest
    assert not proj.exists()


def test_batch_logs_an_internal_error_scrubbed(short, tmp_path, monkeypatch):
    """A bug in the middle of a file's run, whose message names the footage: the file's log holds the
    scrubbed traceback (file names, no folders) and summary.csv one scrubbed line, as the CLI's
    crash logs do. (The bug is injected: a real one would not be in the product.)"""
    import app.media.facts as facts
    from app.batch import BatchOptions, process_file

    secret = tmp_path / "case-4711 Jane Doe"
    secret.mkdir()
    src = secret / "clip.mp4"
    src.write_bytes(Path(short[0]).read_bytes())
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def bug(path):
        raise RuntimeError(f"unexpected state while reading '{path}' near {list(range(40))}")

    monkeypatch.setattr(facts, "open_media", bug)
    options = BatchOptions(detector=DetectorConfig(device="cpu"), analysis=AnalysisOptions(),
                           delivery=DeliveryOptions("", FAST))
    outcome = process_file(str(src), str(out_dir / "clip.mp4"), options)
    assert outcome.rc == 70 and outcome.error.startswith("internal error (RuntimeError"), outcome.error
    log = (out_dir / "clip.mp4.log").read_text()
    assert "Traceback" in log and "clip.mp4" in log
    for text in (log, outcome.error):
        assert "Jane Doe" not in text and str(tmp_path) not in text and "17, 18, 19" not in text, text
