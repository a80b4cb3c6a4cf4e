"""PyInstaller runtime hook: point Obscura at the models inside the bundle.

Runs before ``obscura_main.py``. The bundle holds ``models/`` (the files ``obscura models fetch``
made on the build machine) and ``assets/`` next to the Python packages (``sys._MEIPASS``, the
``_internal`` folder). Nothing here touches the network.

- ``OBSCURA_MODELS``: the bundled models folder, unless the operator set one. The product checks
  every model's SHA-256 (from the bundled manifest) before it loads it, so a damaged or altered
  file in the bundle is refused with "run 'obscura models fetch'" instead of being used.
- ``obscura sample`` needs the sample's portrait (a manifest asset, normally fetched once into the
  user data folder with pip, which a frozen build cannot run). When it is missing there, the
  bundled copy is copied in; ``app.assets`` then checks its SHA-256 like a fetched one.
"""

import os
import shutil
import sys

_base = getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable)))
_models = os.path.join(_base, "models")
if os.path.isdir(_models):
    os.environ.setdefault("OBSCURA_MODELS", _models)

if len(sys.argv) > 1 and sys.argv[1] == "sample":
    _bundled = os.path.join(_base, "assets", "astronaut.png")
    if os.path.isfile(_bundled):
        try:
            from app.assets import data_dir

            _dest = data_dir() / "assets" / "astronaut.png"
            if not _dest.is_file():
                _dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(_bundled, _dest)
        except OSError:
            pass  # the sample command then says what is missing
