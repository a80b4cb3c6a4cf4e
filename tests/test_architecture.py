"""Only app/ui may import Qt: the domain model and the pipelines must run headless."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
QT_MODULES = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "qtpy", "superqt")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_qt_imports_outside_ui():
    offenders = []
    for path in APP.rglob("*.py"):
        if "ui" in path.relative_to(APP).parts[:1]:
            continue
        for name in _imports(path):
            if name.split(".")[0] in QT_MODULES:
                offenders.append(f"{path.relative_to(APP.parent)} imports {name}")
    assert not offenders, "Qt imported outside app/ui:\n" + "\n".join(offenders)


def test_headless_packages_import_without_loading_qt():
    """Importing every non-UI package (and the CLI) must not pull PySide6 in transitively."""
    code = (
        "import sys, pkgutil, importlib, app\n"
        "for m in pkgutil.walk_packages(app.__path__, 'app.'):\n"
        "    if m.name.startswith('app.ui') or m.name == 'app.__main__':\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in %r]\n"
        "print(len([n for n in sys.modules if n.startswith('app.')]))\n"
        "sys.exit('loaded: ' + ', '.join(bad) if bad else 0)\n"
    ).replace("%r", repr(QT_MODULES))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=APP.parent, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    assert int(r.stdout.strip()) >= 10  # it really imported the package tree


def test_import_linter_contracts_hold():
    """The layers in pyproject.toml ([tool.importlinter]): adapters (CLI, editor, batch) over the jobs,
    the jobs over the pipelines, down to core and the base modules; Qt only in app/ui; no import
    cycles between the modules of a package. Checked by import-linter itself, on the real tree."""
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    r = subprocess.run([*cmd, "--no-cache"], capture_output=True, text=True, cwd=APP.parent, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "3 kept, 0 broken" in out, out

