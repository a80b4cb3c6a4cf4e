"""Entry point of the frozen (PyInstaller) build: the same ``obscura`` command as ``app.cli:main``.

``freeze_support()`` must run first so that ``obscura batch --jobs N`` worker processes (started
with the "spawn" method) run the worker instead of a second copy of the command line.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.cli import main

    sys.exit(main())
