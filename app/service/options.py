"""What a client may ask of a job (the ``options`` field of ``POST /v1/jobs``), validated.

A plain JSON object; every field is optional and unknown fields are refused::

    {"classes": ["face", "plate"],
     "styles": {"face": {"method": "pixelate", "strength": 90, "margin": 25}},
     "leak_check": true, "leak_mode": "quick", "preset": "medium"}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ObscuraError

Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


class StyleOptions(BaseModel):
    """A class's redaction style; fields left out keep the product's default for that class."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["gaussian", "pixelate", "solid"] | None = None
    strength: float | None = Field(None, ge=0, le=100, description="0-100 (default 80)")
    margin: float | None = Field(None, ge=0, le=200, description="% of the box added on each side")


class JobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classes: list[Literal["face", "plate"]] = Field(
        default_factory=lambda: ["face", "plate"], min_length=1, description="what to detect and redact")
    styles: dict[Literal["face", "plate"], StyleOptions] = Field(default_factory=dict,
                                                                 description="redaction style per class")
    leak_check: bool = Field(True, description="re-decode the output and look for what is still visible")
    leak_mode: Literal["quick", "thorough"] = Field(
        "quick", description="leak check: quick (about 5 frames a second) or thorough (every frame, "
                             "about 5x slower)")
    leak_stride: int | None = Field(None, ge=1, le=1000,
                                    description="leak check: every K-th frame only (overrides the mode's)")
    preset: Preset = Field("medium", description="x264 preset of a video output")


def parse_options(text: str | None) -> JobOptions:
    """``JobOptions`` from the form field's JSON text (None or empty: the defaults). Raises
    ObscuraError with one line naming the first problem."""
    if text is None or not text.strip():
        return JobOptions()
    try:
        return JobOptions.model_validate_json(text)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            raise ObscuraError(f"options: not valid JSON ({err.get('ctx', {}).get('error', msg)})") from None
        raise ObscuraError(f"options: {where + ': ' if where else ''}{msg}") from None
