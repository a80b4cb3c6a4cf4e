"""The lines a run prints about itself, in one place: the CLI shows them on stderr, batch writes
them into each file's log, the editor shows them in its status bar. Jobs yield them as
``Progress(NOTE, ...)`` events with the line in ``message``. No image data, no paths but the
output's own name as given."""

from __future__ import annotations

import os
from typing import TextIO

from app.base.progress import Progress

NOTE = "note"  # the stage of a progress event that only carries a line of text


def note(line: str) -> Progress:
    return Progress(NOTE, 0, 0, message=line)


def analysis_line(result) -> str:
    by = ", ".join(f"{n} {c}" for c, n in sorted(result.by_class.items())) or "nothing found"
    return (f"analysed {result.frames} frames: {result.detections} detections, tracks: {by} "
            f"({result.seconds:.1f} s)")


def export_line(output: str, result) -> str:
    return (f"wrote {output}: {result.frames} frames, {result.masks_drawn} masks on "
            f"{result.masked_frames} frames, {result.seconds:.1f} s")


def leak_line(leak, gate: float) -> str:
    failing = leak.failing(gate)
    how = getattr(leak, "mode", "")
    if how and leak.stride > 1:
        how = f" ({how}: every {leak.stride} frames)"
    elif how:
        how = f" ({how})"
    return (f"leak check{how}: {len(leak.leaks)} leak events ({len(failing)} with score >= {gate:g}), "
            f"{len(leak.exempt)} exempt, {len(leak.rejected)} on rejected tracks; {leak.frames_checked} of "
            f"{leak.frame_count} frames checked in {leak.seconds:.1f} s on {leak.device}")


def report_line(paths: tuple[str, str]) -> str:
    return f"wrote audit report {paths[0]} and {os.path.basename(paths[1])}"


def leak_failed_line(delivery) -> str:
    failing = delivery.leak.failing(delivery.gate)
    return (f"leak check failed: {len(failing)} leak event(s) with score >= {delivery.gate:g} "
            f"(allowed {delivery.max_events})" + ("; the check was cancelled" if delivery.leak.cancelled else ""))


def progress_printer(stream: TextIO, tty: bool = False):
    """A progress callback that writes to ``stream``: one updating line on a terminal, else a line
    every 10 % and at the end of each stage; notes as they come."""
    state = {"last": -1.0, "open": False}  # open: a terminal line waits for its end

    def show(p: Progress) -> None:
        if p.stage == NOTE:
            if state["open"]:
                print(file=stream)
                state["open"] = False
            print(p.message, file=stream, flush=True)
            return
        if not p.total:
            return
        pct = 100.0 * p.fraction
        eta = f"{int(p.eta_s // 60)}:{int(p.eta_s % 60):02d}" if p.eta_s is not None else "--:--"
        line = f"{p.stage}: {pct:5.1f}%  {p.done}/{p.total} frames  {p.fps:6.1f} fps  time left {eta}"
        final = p.message in ("done", "cancelled")
        if tty:
            print("\r" + line, end="\n" if final else "", file=stream, flush=True)
            state["open"] = not final
        elif final or pct - state["last"] >= 10.0:
            state["last"] = -1.0 if final else pct
            print(line, file=stream, flush=True)

    return show
