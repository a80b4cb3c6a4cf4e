"""PyInstaller runtime hook: point Obscura at the models inside the bundle.

Runs before ``obscura_main.py``. The bundle holds ``models/`` (the files ``obscura models fetch``
made on the build machine) and ``assets/`` next to the Python packages (``sys._MEIPASS``, the
``_internal`` folder). Nothing here touches the network.

- ``OBSCURA_MODELS``: the bundled models folder, unless the operator set one. The product checks
  every model's SHA-256 (from the bundled manifest) before it loads it, so a damaged or altered
  file in the bundle is refused with "run 'obscura models fetch'" instead of being used.
- ``obscura sample`` needs the sample's portrait (a manifest asset): ``app.assets.asset`` finds the
  bundled copy in ``assets/`` and checks its SHA-256 like a fetched one, so nothing is fetched.
"""

import os
import sys

_base = getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable)))
_models = os.path.join(_base, "models")
if os.path.isdir(_models):
    os.environ.setdefault("OBSCURA_MODELS", _models)
