"""Run a pipeline generator in a worker thread; report to the main thread by signals.

The pipelines (``app/pipelines``) are plain generators that yield ``Progress`` and check a
``CancelToken``. ``PipelineWorker`` runs one in a ``QThread`` and emits ``progress``,
``finished(result)`` or ``failed(message)`` — queued to the main thread, which alone changes the
project. Errors the operator can cause arrive as their one-line message; anything else is logged
(no image data) and reported as an internal error.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Generator

from PySide6.QtCore import QObject, QThread, Signal

from app.base.progress import CancelToken, Progress
from app.errors import ObscuraError


class PipelineWorker(QObject):
    progress = Signal(object)  # Progress
    finished = Signal(object)  # the generator's return value
    failed = Signal(str)

    def __init__(self, make: Callable[[CancelToken], Generator[Progress, None, object]], parent: QObject | None = None):
        super().__init__(parent)
        self._make = make
        self.cancel_token = CancelToken()
        self._thread = QThread()
        self._thread.setObjectName("obscura-worker")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)
        self.running = False

    def start(self) -> None:
        self.running = True
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self._thread.wait(ms)

    def _run(self) -> None:
        try:
            gen = self._make(self.cancel_token)
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    self.finished.emit(stop.value)
                    break
                self.progress.emit(p)
        except ObscuraError as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - reported, never raised into Qt
            from app.base.logs import log_internal_error

            where = log_internal_error(e)
            self.failed.emit(f"internal error ({type(e).__name__}); details in {where}")
            traceback.clear_frames(e.__traceback__)
        finally:
            self.running = False
            self._thread.quit()
