"""Small typed readers for JSON values that fail with a :class:`ProjectError` naming the field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from fractions import Fraction
from typing import Any, NoReturn, TypeVar

from app.errors import ProjectError

E = TypeVar("E", bound=Enum)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_FRACTION = re.compile(r"\s*([0-9]{1,12})\s*(?:/\s*([0-9]{1,12})\s*)?")


def key_path(path: str, key: str) -> str:
    """``path.key`` for plain keys, ``path["odd key"]`` otherwise."""
    if _IDENT.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


class Reader:
    """Validates values read from a project file; every error starts with ``source``."""

    def __init__(self, source: str) -> None:
        self.source = source

    # --- reporting ----------------------------------------------------------------------------

    def fail(self, path: str, message: str) -> NoReturn:
        where = f"{self.source}: {path}" if path else self.source
        raise ProjectError(f"{where}: {message}")

    @contextmanager
    def at(self, path: str) -> Iterator[None]:
        """Turn a ValueError raised by a model constructor into a ProjectError at ``path``."""
        try:
            yield
        except ValueError as e:
            self.fail(path, str(e))

    @staticmethod
    def kind(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true/false"
        if isinstance(value, dict):
            return "an object"
        if isinstance(value, list):
            return "an array"
        if isinstance(value, str):
            return "a string"
        if isinstance(value, int | float):
            return "a number"
        return type(value).__name__

    @staticmethod
    def show(value: Any) -> str:
        """A short, single-line rendering of ``value`` for a message."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if isinstance(value, int) and not -(10**20) < value < 10**20:
            return _big_int(value)
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, str):
            text = value if len(value) <= 40 else value[:37] + "..."
            return repr(text)
        return Reader.kind(value)

    # --- containers ---------------------------------------------------------------------------

    def required(self, d: dict[str, Any], key: str, path: str) -> Any:
        if key not in d:
            self.fail(path, f"missing required field {key!r}")
        return d[key]

    def no_unknown(self, d: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in d:
            if key not in allowed:
                self.fail(key_path(path, key), "unknown field")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {self.show(value)}")
        return value

    def array(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"expected an array, got {self.show(value)}")
        return value

    # --- scalars ------------------------------------------------------------------------------

    def string(self, value: Any, path: str, nonempty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {self.show(value)}")
        if nonempty and not value.strip():
            self.fail(path, "must not be empty")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {self.show(value)}")
        return value

    def integer(self, value: Any, path: str, minimum: int | None = 0, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            bound = "" if minimum is None else f" >= {minimum}"
            self.fail(path, f"expected an integer{bound}, got {self.show(value)}")
        if minimum is not None and value < minimum:
            self.fail(path, f"expected an integer >= {minimum}, got {self.show(value)}")
        if maximum is not None and value > maximum:
            self.fail(path, f"expected an integer <= {maximum}, got {self.show(value)}")
        return value

    def number(
        self,
        value: Any,
        path: str,
        lo: float | None = None,
        hi: float | None = None,
        what: str = "a finite number",
    ) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            self.fail(path, f"expected {what}, got {self.show(value)}")
        if lo is not None and value < lo:
            self.fail(path, f"expected a number >= {lo:g}, got {self.show(value)}")
        if hi is not None and value > hi:
            self.fail(path, f"expected a number <= {hi:g}, got {self.show(value)}")
        return value

    def coordinate(self, value: Any, path: str, limit: int) -> float | int:
        """A finite number within ``[-limit, limit]``: a pixel coordinate that the renderer can
        draw (a shape wholly outside the frame is fine, ``1e300`` is not)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            self.fail(path, f"expected a finite number, got {self.show(value)}")
        if not -limit <= value <= limit:
            self.fail(path, f"expected a pixel coordinate between {-limit} and {limit}, got {self.show(value)}")
        return value

    def enum(self, value: Any, enum: type[E], path: str) -> E:
        try:
            return enum(value)
        except (ValueError, TypeError):
            choices = ", ".join(str(m.value) for m in enum)  # type: ignore[attr-defined]
            self.fail(path, f"expected one of {choices}, got {self.show(value)}")

    def fraction(self, value: Any, path: str) -> Fraction:
        """A positive rational written as ``"30000/1001"`` or ``"25"`` (an integer is accepted)."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**12:
            return Fraction(value)
        m = _FRACTION.fullmatch(value) if isinstance(value, str) else None
        if m is None or (m.group(2) is not None and int(m.group(2)) == 0) or int(m.group(1)) == 0:
            self.fail(path, f'expected a positive rational like "30000/1001", got {self.show(value)}')
        return Fraction(int(m.group(1)), int(m.group(2) or 1))


def _finite(value: int | float) -> bool:
    """``math.isfinite`` that says False (instead of raising) for an int too large for a float."""
    if isinstance(value, int):
        return -_FLOAT_MAX <= value <= _FLOAT_MAX
    return math.isfinite(value)


_FLOAT_MAX = 1.7976931348623157e308


def _big_int(value: int) -> str:
    """``123456...7890 (401 digits)``: a huge integer, short (also past Python's str() limit)."""
    sign = "-" if value < 0 else ""
    try:
        digits = str(abs(value))
    except ValueError:  # more digits than Python will print
        return f"{sign}an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
    return f"{sign}{digits[:6]}...{digits[-4:]} ({len(digits)} digits)"
