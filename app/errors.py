"""User-facing errors.

Every failure the operator can cause (a bad file, a bad project, a full disk) is raised as an
``ObscuraError`` subclass whose message is one clear sentence naming the problem. The CLI prints
that sentence and exits non-zero; the editor shows it in a dialog. Nothing here imports Qt.
"""

from __future__ import annotations


class ObscuraError(Exception):
    """Base class: ``str(err)`` is a complete, single-line message for the operator."""

    exit_code = 1


class InputNotFound(ObscuraError):
    exit_code = 2


class NotAMediaFile(ObscuraError):
    exit_code = 3


class CorruptMedia(ObscuraError):
    exit_code = 3


class UnsupportedMedia(ObscuraError):
    exit_code = 3


class OutputError(ObscuraError):
    """The output can't be written: it is the input, the folder is missing, the disk is full."""

    exit_code = 4


class ProjectError(ObscuraError):
    """A project file is unreadable or fails validation; the message names the field."""

    exit_code = 5


class Cancelled(ObscuraError):
    exit_code = 130
