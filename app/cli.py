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

from app import __version__
from app.base.logs import log_internal_error
from app.base.progress import CancelToken
from app.errors import ObscuraError, ProjectError


def _progress_printer(quiet: bool):
    from app.jobs.text import progress_printer

    return (lambda p: None) if quiet else progress_printer(sys.stderr, tty=sys.stderr.isatty())


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


def _style_changes(args) -> dict:
    changes = {k: getattr(args, k, None) for k in ("method", "strength", "margin", "feather")}
    return {k: v for k, v in changes.items() if v is not None}


def _checked_styles(args) -> dict:
    """The style options given, checked (a bad value is named before any work starts)."""
    from app.core.style import RedactionStyle

    changes = _style_changes(args)
    try:
        RedactionStyle().replace(**changes)
    except ValueError as e:
        raise ObscuraError(f"bad style option: {e}") from None
    return changes


LEAKS_FOUND_EXIT = 8  # --leak-check found more leak events at or above --leak-threshold than allowed


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
        tiles=getattr(args, "tiles", "auto"), precision=getattr(args, "precision", "auto"),
        face_models=getattr(args, "face_models", "ensemble"),
    )


def _frame_range(text: str | None) -> tuple[int, int] | None:
    """``--range START:END`` (frame numbers, END exclusive, as in Python) as (START, END)."""
    if not text:
        return None
    try:
        a, b = (int(v) for v in text.split(":"))
    except ValueError:
        raise ObscuraError(f"--range must be START:END frame numbers, got '{text}'") from None
    if not 0 <= a < b:
        raise ObscuraError(f"--range START:END needs 0 <= START < END (END exclusive), got '{text}'")
    return a, b


def delivery_options(args, detector_config=None, output: str | None = None):
    """``export``/``process``/``batch`` options as the delivery job's typed options (``output``
    instead of ``args.output``; the encoder settings are made unless it names a photo)."""
    from app.jobs.delivery import DeliveryOptions, LeakOptions

    leak = LeakOptions(enabled=bool(args.leak_check), stride=args.leak_stride, gate=args.leak_threshold,
                       max_events=args.leak_max_events, config=detector_config or _detector_config(args),
                       **({"mode": args.leak_mode} if getattr(args, "leak_mode", None) else {}))
    leak.check()
    output = args.output if output is None else output
    rng = _frame_range(getattr(args, "range", None)) if getattr(args, "command", "") == "export" else None
    return DeliveryOptions(
        output=output, settings=None if _is_image(output) else _settings(args),
        frame_range=(rng[0], rng[1] - 1) if rng else None,  # the delivery job's range is inclusive
        leak=leak, report=not args.no_report, operator=_operator(args),
    )


def analysis_options(args):
    from app.jobs.analysis import AnalysisOptions

    return AnalysisOptions(stride=getattr(args, "stride", 1),
                           frame_range=_frame_range(getattr(args, "range", None)),
                           extend=not getattr(args, "no_extend", False),
                           thorough=getattr(args, "detection", "fast") == "thorough")


def _run(job, args):
    """Drive a job, printing its progress and notes; SIGTERM cancels it cleanly (no output left)."""
    import signal

    from app.base.progress import run

    cancel = CancelToken()
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())
    except ValueError:  # not the main thread (tests call main() from one): Ctrl+C still works
        pass
    try:
        return run(job(cancel), _progress_printer(args.quiet))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _finish_delivery(delivery, args) -> int:
    """Print the leak events and the verdict; the exit code."""
    from app.errors import Cancelled
    from app.jobs.text import leak_failed_line

    if delivery is None or delivery.cancelled:
        raise Cancelled("cancelled; no output written")
    leak = delivery.leak
    if leak is not None:
        failing = {e.id for e in leak.failing(delivery.gate)}
        for e in leak.events:
            if not args.quiet or e.id in failing:
                print(e.describe() + ("  [FAIL]" if e.id in failing else ""))
    if not delivery.leak_passed:
        print(f"obscura: {leak_failed_line(delivery)}", file=sys.stderr)
    return delivery.exit_code


def _add_leak_mode_args(g) -> None:
    from app.pipelines.leakcheck import DEFAULT_MODE, MODES, QUICK_CHECKS_PER_S

    g.add_argument("--leak-mode", choices=MODES, default=DEFAULT_MODE,
                   help=f"quick: about {QUICK_CHECKS_PER_S:g} frames a second; thorough: every frame, about 5x "
                        f"slower; both at 1.5x the analysis's resolution (default {DEFAULT_MODE})")
    g.add_argument("--leak-stride", type=int, default=None, metavar="K",
                   help="check every K-th frame only, overriding the mode's (1: every frame)")


def _add_report_args(p: argparse.ArgumentParser, device: bool) -> None:
    from app.pipelines.leakcheck import DEFAULT_GATE

    r = p.add_argument_group("audit report")
    r.add_argument("--no-report", action="store_true",
                   help="do not write OUTPUT.report.json and OUTPUT.report.html beside the output")
    r.add_argument("--operator", help="operator name for the report (default: the OS user name)")
    g = p.add_argument_group(
        "leak check",
        f"re-decode the output and look for faces and plates outside the masks (0.6x the analysis's "
        f"thresholds; see --leak-mode); exits with code {LEAKS_FOUND_EXIT} when it finds leaks",
    )
    g.add_argument("--leak-check", action="store_true", help="run the leak check on the output after export")
    g.add_argument("--leak-threshold", type=float, default=DEFAULT_GATE, metavar="SCORE",
                   help=f"a leak event whose best score reaches this fails the check (default {DEFAULT_GATE:g}; "
                        "weaker ones are listed only)")
    g.add_argument("--leak-max-events", type=int, default=0, metavar="N",
                   help="allow up to N failing leak events before exiting non-zero (default 0)")
    _add_leak_mode_args(g)
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
    from app.jobs.delivery import delivery_job
    from app.media.facts import open_media
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
    media = open_media(input_path)
    if args.input and project.media and not media.is_image:
        _check_same_video(project.media, media, args.project)
    options = delivery_options(args)
    project.override_styles(_checked_styles(args))
    return _finish_delivery(_run(lambda cancel: delivery_job(project, media, options, None, cancel), args), args)


def _check_same_video(ref, media, project_path: str) -> None:
    """``--input`` must be the project's video (moved or copied): masks are in its pixels and frames."""
    from app.media.probe import not_same_video

    why = not_same_video(media.info, ref.width, ref.height, ref.frame_count)
    if why:
        raise ProjectError(f"{media.path} is not the video of project {project_path}: {why} (the masks would "
                           "land in the wrong places); analyse it instead")


def _detector(args, config=None):
    from app.detection.detector import Detector

    return Detector(config or _detector_config(args))


def cmd_analyze(args) -> int:
    from app.core.project import Project
    from app.errors import Cancelled
    from app.jobs.analysis import analysis_job, apply_analysis
    from app.media.facts import open_media
    from app.project_io import load_project, save_project

    project = load_project(args.project) if args.project and os.path.exists(args.project) else Project()
    media = open_media(args.input)  # a bad input fails here, before the models load
    options = analysis_options(args)
    detector = _detector(args)
    outcome = _run(lambda cancel: analysis_job(media, detector, options, cancel), args)
    if outcome.cancelled:
        raise Cancelled("analysis cancelled; no project written")
    apply_analysis(project, outcome)
    out = args.output or args.project or os.path.splitext(args.input)[0] + ".obscura.json"
    save_project(project, out)
    if not args.quiet:
        print(f"wrote project {out}", file=sys.stderr)
    return 0


def cmd_process(args) -> int:
    from app.jobs.delivery import preflight
    from app.jobs.process import process_job
    from app.media.facts import open_media
    from app.project_io import load_project

    project = load_project(args.project) if args.project else None
    media = open_media(args.input)  # a bad input fails here, before the models load
    config = _detector_config(args)
    options = delivery_options(args, config)
    preflight(media, options)  # ... and a wrong output type or folder too
    styles = _checked_styles(args)
    detector = None if project is not None else _detector(args, config)

    def job(cancel):
        return process_job(media, detector, options, analysis_options(args), project=project,
                           styles=styles, cancel=cancel)

    return _finish_delivery(_run(job, args).delivery, args)


def cmd_models(args) -> int:
    from app.detection import models

    chosen = [models.spec(m) for m in args.ids] if args.ids else list(models.specs().values())
    bad = converted = 0

    def say(line: str) -> None:
        print(f"obscura: {line}", file=sys.stderr, flush=True)

    for s in chosen:
        if args.action == "fetch":
            was_ok = s.status() == "ok"
            models.fetch(s, force=args.force, say=say)
            converted += bool(s.convert) and (args.force or not was_ok)
        status = s.status()
        bad += status != "ok"
        if args.action == "list":
            print(f"{s.id:<16} {s.task:<6} {status:<9} {s.licence:<11} {s.wheel}=={s.version}:{s.member} -> {s.path}")
        else:
            print(f"{s.id:<16} {status}" + ("" if status == "ok" else f"  ({models.FIX_HINT})"))
    if converted and not bad and not args.keep_convert_env and not os.environ.get("OBSCURA_KEEP_CONVERT_ENV"):
        from app.detection.convert import remove_conversion_env

        remove_conversion_env(say)  # every model is in place: the 1.6 GB it took are no longer needed
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
    se.add_argument("--range", metavar="START:END",
                    help="export frames START to END only (END exclusive), as the editor's In/Out export does; "
                         "the leak check and the report number frames as in the project")
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
    sm.add_argument("--keep-convert-env", action="store_true",
                    help="keep the model conversion environment (about 1.6 GB in the user data folder) after "
                         "a conversion; by default it is removed once every model is in place "
                         "(OBSCURA_KEEP_CONVERT_ENV=1 does the same)")
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


# -- batch --------------------------------------------------------------------------------------
def add_batch_args(p: argparse.ArgumentParser) -> None:
    """The ``batch`` sub-command's options: its own, and those it shares with ``process``."""
    from app.pipelines.leakcheck import DEFAULT_GATE

    p.add_argument("in_dir", metavar="IN_DIR", help="folder of videos (.mp4 .m4v .mov .mkv .avi) and photos "
                                                   "(.jpg .png); sub-folders are included; never written to")
    p.add_argument("out_dir", metavar="OUT_DIR", help="where outputs, reports and summary.csv go (made if needed)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="files processed at once, each in its own process with its own detector (default 1; "
                        "with --engine ray: the cluster's CPUs)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: worker processes on this machine (default); ray: tasks on a Ray cluster "
                        "(pip install 'obscura[ray]'; IN_DIR and OUT_DIR on storage every node sees)")
    p.add_argument("--address", metavar="ADDR",
                   help="--engine ray: the cluster (HOST:6379, ray://HOST:10001 or auto; default "
                        "RAY_ADDRESS, else a Ray started on this machine for the run)")
    p.add_argument("--shard", type=int, default=0, metavar="K", help="process only shard K (0-based) of --shards")
    p.add_argument("--shards", type=int, default=1, metavar="N",
                   help="split the files into N shards by a stable hash of their path (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final summary line")
    p.add_argument("--operator", help="operator name for the reports (default: the OS user name)")
    p.add_argument("--no-extend", action="store_true",
                   help="don't follow tracks visually past their detections (faster, less safe)")
    g = p.add_argument_group("leak check (on by default in batch)")
    g.add_argument("--leak-check", action=argparse.BooleanOptionalAction, default=True,
                   help="re-decode each output and look for faces and plates outside the masks")
    g.add_argument("--leak-threshold", type=float, default=DEFAULT_GATE, metavar="SCORE",
                   help=f"a leak event scoring this or more fails the file (default {DEFAULT_GATE:g})")
    g.add_argument("--leak-max-events", type=int, default=0, metavar="N",
                   help="allow up to N failing leak events per file (default 0)")
    _add_leak_mode_args(g)
    _add_detect_args(p)
    _add_encode_args(p)


def batch_options(args):
    """``batch``'s arguments as the typed options every file is processed with."""
    from app.batch import BatchOptions

    config = _detector_config(args)
    args.no_report = False  # batch always writes the reports (they make it resumable)
    delivery = delivery_options(args, config, output="")  # the output is set per file
    return BatchOptions(detector=config, analysis=analysis_options(args), delivery=delivery,
                        styles=_checked_styles(args))


def cmd_batch(args) -> int:
    from pathlib import Path

    from app.batch import in_shard, list_inputs, prepare, run_batch, summary_name

    t0 = time.perf_counter()
    in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
    options = batch_options(args)
    if args.address and args.engine != "ray":
        raise ObscuraError("--address needs --engine ray")
    jobs = args.jobs if args.jobs is not None or args.engine == "ray" else 1  # ray: None = the cluster's CPUs
    prepare(in_dir, out_dir, jobs or 1, args.shard, args.shards)
    files = [f for f in list_inputs(in_dir) if in_shard(f, args.shard, args.shards)]
    summary_path = out_dir / summary_name(args.shard, args.shards)
    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    say(f"batch: {len(files)} file(s) in {in_dir}" + (f" (shard {args.shard} of {args.shards})"
                                                       if args.shards > 1 else ""))
    results = run_batch(in_dir, out_dir, files, options, jobs=jobs, summary_path=summary_path, say=say,
                        engine=args.engine, address=args.address)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "skipped")}
    line = (f"batch: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped of {len(results)} "
            f"in {time.perf_counter() - t0:.1f} s; summary in {summary_path}")
    print(("obscura: " if counts["failed"] else "") + line, file=sys.stderr, flush=True)
    return 1 if counts["failed"] else 0


def _add_detect_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("detection")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the models run (auto: CUDA if it really works, else CPU)")
    g.add_argument("--classes", nargs="+", choices=["face", "plate"], default=["face", "plate"],
                   help="what to detect (default: face plate)")
    g.add_argument("--face-models", choices=["ensemble", "centerface"], default="ensemble",
                   help="ensemble (default): CenterFace and RetinaFace, merged (finds more turned, masked and "
                        "blurred faces for about a fifth more detection time); centerface: that model alone")
    g.add_argument("--face-threshold", type=float, help="face score threshold (default from the manifest)")
    g.add_argument("--plate-threshold", type=float, help="plate score threshold (default from the manifest)")
    g.add_argument("--tiles", choices=["auto", "on", "off"], default="auto",
                   help="extra full-resolution tiled pass for large frames (auto: 4K and up)")
    g.add_argument("--detection", choices=["fast", "thorough"], default="fast",
                   help="fast (default): the full-resolution pass every 8th frame and around small objects, a "
                        "640-pixel pass between, tracks carry the rest; thorough: the full-resolution float "
                        "models on every frame (several times slower)")
    g.add_argument("--precision", choices=["auto", "int8", "fp32"], default="auto",
                   help="graphs of the fast passes (auto: int8 on the CPU, float on CUDA; photos and "
                        "--detection thorough always use the float reference)")


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
        where = log_internal_error(e)
        print(f"obscura: internal error ({type(e).__name__}); details in {where}", file=sys.stderr)
        return 70
    except Exception as e:  # an internal bug: one line for the operator, details in the log
        where = log_internal_error(e)
        print(f"obscura: internal error ({type(e).__name__}); details in {where}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
