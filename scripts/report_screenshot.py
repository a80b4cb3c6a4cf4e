"""Render an audit report's HTML page to an image (Qt's HTML engine, offscreen), for the README.

    QT_QPA_PLATFORM=offscreen python scripts/report_screenshot.py OUTPUT.report.html docs/audit_report.png

Qt's rich-text engine supports a subset of CSS, so the picture is close to, not exactly, what a
browser shows; no browser is needed (or available on the build machines)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    from PySide6.QtWidgets import QApplication, QTextBrowser

    app = QApplication([])
    view = QTextBrowser()
    view.setOpenLinks(False)
    with open(src, encoding="utf-8") as f:
        view.setHtml(f.read())
    view.resize(1100, 1400)
    view.show()
    app.processEvents()
    view.grab().save(dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
