"""Crash logs fit to keep: an internal error's traceback, scrubbed of anything that could be
footage (numpy reprs, long runs of numbers, long bytes literals) or say where it lives (paths
reduced to file names), written to the log folder in the user data folder.

Every adapter (the CLI, batch, the service, the editor's workers) logs through here.
"""

from __future__ import annotations

import os
import re
import time
import traceback

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


def log_internal_error(exc: BaseException) -> str:
    """Write ``exc``'s scrubbed traceback to a new crash log; returns its path (or why not)."""
    from app import __version__
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
