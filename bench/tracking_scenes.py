"""The tracking benchmark's clip descriptions (rendered by bench/make_tracking_clips.py).

``CLIPS`` holds every clip: the original five (``t1``-``t5``) and the hard ones (``h1``-``h5``,
``HARD_CLIPS``, issue 16), which add what real footage does to a detector and a tracker: objects
crossing in front of faces and plates for about a second, faces the detector sees only weakly (an
extreme expression or pose), in-plane rotation, motion blur, small faces growing as they approach,
and heavy compression in low light. ``HELD_OUT`` names the one hard clip kept out of all tuning:
quote it separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

# --- clip descriptions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Obj:
    """One pasted object. ``keys``: (u, cx, cy, h): time as a fraction of the clip (frame / frames),
    centre of the truth box as fractions of the frame's width and height, and the truth box's
    height as a fraction of the frame's height. The object exists for ``keys[0].u <= u < keys[-1].u``.
    ``ease`` gives each segment's timing: "lin" (constant speed), "in" (from rest, accelerating),
    "out" (decelerating to rest), "smooth" (both), "acc" (accelerating from a third of the mean speed
    to five thirds of it). The height is interpolated geometrically, like an object that approaches.
    """

    obj: int
    cls: str
    keys: tuple[tuple[float, float, float, float], ...]
    ease: tuple[str, ...] = ()
    z: int = 0
    masked: bool = False  # faces: a crop of a person wearing a mask
    sprite: str | None = None  # a fixed crop ("faces/images/NAME.jpg#K"); None: the clip's seeded draw
    # hard clips: in-plane rotation, (u, degrees) keys interpolated linearly (held outside them); the
    # truth box is then the bounding box of the ellipse inscribed in the rotated face box (the face's
    # own extent, not the rotated rectangle's corners)
    rot: tuple[tuple[float, float], ...] = ()
    blur: float = 0.0  # motion blur: a smear this many times the object's motion per frame (1 = open shutter)
    # cls "occluder": a card of tree foliage (no truth of its own) that hides what is behind it; h
    # is its height, its width is ``aspect`` times that
    aspect: float = 0.75


@dataclass(frozen=True)
class Bar:
    """A full-height occluder (a column of tree foliage) in front of every object."""

    cx: float  # centre, fraction of the width
    w: float  # width, fraction of the width


@dataclass(frozen=True)
class Background:
    video: str
    first: int  # inclusive source frame range
    last: int
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in source pixels
    flip: bool = False


BACKGROUNDS: dict[str, Background] = {
    "lot_a": Background("intel_car_detection_768x432.mp4", 239, 315),
    "lot_b": Background("intel_car_detection_768x432.mp4", 109, 182, flip=True),
    "lot_c": Background("intel_car_detection_768x432.mp4", 0, 54),
    "trees": Background("egoblur_gen2_plates_2560x1920.mp4", 0, 23, (700, 100, 1624, 620)),
    "trees_flip": Background("egoblur_gen2_plates_2560x1920.mp4", 0, 23, (700, 100, 1624, 620), flip=True),
    "asphalt": Background("egoblur_gen2_plates_2560x1920.mp4", 0, 23, (350, 950, 1300, 1484)),
}
BAR_TEXTURE = Background("egoblur_gen2_plates_2560x1920.mp4", 0, 0, (840, 140, 1320, 780))


@dataclass(frozen=True)
class ClipSpec:
    name: str
    scenarios: tuple[str, ...]
    width: int
    height: int
    fps: Fraction
    frames: int
    backgrounds: tuple[tuple[float, str], ...]  # (u from which it shows, background name)
    objects: tuple[Obj, ...]
    bars: tuple[Bar, ...] = ()
    seed: int = field(default=0)
    light: float = 1.0  # hard clips: every pixel times this (low light) ...
    noise: float = 0.0  # ... plus seeded sensor noise of this sigma (grey levels) ...
    crf: int = 18  # ... and x264 at this CRF (heavy compression)

    def with_(self, frames: int | None = None, size: tuple[int, int] | None = None) -> ClipSpec:
        import dataclasses

        kw = {}
        if frames:
            kw["frames"] = int(frames)
        if size:
            kw["width"], kw["height"] = int(size[0]), int(size[1])
        return dataclasses.replace(self, **kw)


F25 = Fraction(25)
NTSC = Fraction(30000, 1001)

CLIPS: tuple[ClipSpec, ...] = (
    ClipSpec(
        "t1_lot_mixed",
        ("constant velocity (plate, edge to edge)", "acceleration from rest (face)",
         "entry from the left and right edges", "approaching plate (x3.4 scale), pop-in mid-frame",
         "disappearance behind a bar (~9 frames)"),
        1024, 576, F25, 175, ((0.0, "lot_a"),),
        (
            Obj(0, "plate", ((0.0, -0.08, 0.78, 0.06), (1.0, 1.08, 0.78, 0.06)),
                sprite="plates/images/Cars303.jpg#0"),
            Obj(1, "face", ((0.0, 0.12, 0.34, 0.20), (0.2, 0.12, 0.34, 0.20), (0.75, 0.80, 0.48, 0.20),
                            (0.9, 1.15, 0.52, 0.20)), ("lin", "in", "lin"),
                            sprite="faces/images/maksssksksss525.jpg#0"),
            Obj(2, "plate", ((0.1, 0.62, 0.33, 0.035), (0.95, 0.40, 0.62, 0.12)), ("in",),
                sprite="plates/images/Cars78.jpg#0"),
            Obj(3, "face", ((0.05, 1.06, 0.14, 0.15), (0.95, -0.06, 0.14, 0.15)), masked=True,
                sprite="faces/images/maksssksksss833.jpg#0"),
        ),
        (Bar(0.5, 0.12),),
    ),
    ClipSpec(
        "t2_trees_crossing",
        ("two faces crossing, the front one hides the other (fully for a few frames)",
         "a plate crossing in front of a face (partial occlusion)", "entry from the top edge, accelerating",
         "entry from the left edge", "moving handheld background (10 fps source)"),
        1024, 576, F25, 150, ((0.0, "trees"),),
        (
            Obj(0, "face", ((0.0, 0.10, 0.45, 0.22), (1.0, 0.90, 0.45, 0.22)), z=0,
                sprite="faces/images/maksssksksss396.jpg#4"),
            Obj(1, "face", ((0.0, 0.90, 0.50, 0.24), (1.0, 0.10, 0.50, 0.24)), z=1,
                sprite="faces/images/maksssksksss132.jpg#0"),
            Obj(2, "plate", ((0.0, -0.10, 0.74, 0.07), (1.0, 1.10, 0.74, 0.07)), z=3,
                sprite="plates/images/Cars180.jpg#0"),
            Obj(3, "face", ((0.0, 0.62, -0.15, 0.17), (0.6, 0.62, 0.72, 0.17), (0.8, 0.62, 1.20, 0.17)),
                ("in", "lin"), z=2, masked=True, sprite="faces/images/maksssksksss332.jpg#0"),
        ),
    ),
    ClipSpec(
        "t3_asphalt_scale",
        ("face approaching the camera (x7.5 scale)", "plate receding (86 -> 22 px tall)",
         "zig-zag with sudden direction changes", "entry from the right edge, exit at the bottom",
         "1280x720 at 29.97 fps"),
        1280, 720, NTSC, 180, ((0.0, "asphalt"),),
        (
            Obj(0, "face", ((0.0, 0.50, 0.40, 0.06), (1.0, 0.42, 0.55, 0.45)), ("in",), z=3,
                sprite="faces/images/maksssksksss525.jpg#0"),
            Obj(1, "plate", ((0.0, 0.80, 0.85, 0.12), (0.9, 0.70, 0.45, 0.03)), ("out",),
                sprite="plates/images/Cars159.jpg#0"),
            Obj(2, "face", ((0.0, 0.10, 0.20, 0.12), (0.25, 0.35, 0.30, 0.12), (0.5, 0.15, 0.40, 0.12),
                            (0.75, 0.40, 0.30, 0.12), (1.0, 0.20, 0.20, 0.12)),
                            sprite="faces/images/maksssksksss217.jpg#0"),
            Obj(3, "face", ((0.15, 1.10, 0.25, 0.14), (0.55, 0.75, 0.35, 0.14), (0.9, 0.85, 1.15, 0.14)),
                ("out", "in"), z=1, masked=True, sprite="faces/images/maksssksksss551.jpg#0"),
        ),
    ),
    ClipSpec(
        "t4_lot_occlusion",
        ("two occluder bars: faces vanish for ~3-11 frames and come back", "plate passing behind bars",
         "a face at rest that starts to move", "a small face on a long diagonal", "5 objects"),
        1024, 576, F25, 175, ((0.0, "lot_b"),),
        (
            Obj(0, "face", ((0.0, -0.05, 0.30, 0.13), (1.0, 1.05, 0.30, 0.13)),
                sprite="faces/images/maksssksksss125.jpg#0"),
            Obj(1, "plate", ((0.05, 1.10, 0.76, 0.06), (0.95, -0.10, 0.76, 0.06)),
                sprite="plates/images/Cars328.jpg#0"),
            Obj(2, "face", ((0.0, 0.50, 0.55, 0.16), (0.4, 0.50, 0.55, 0.16), (1.0, 0.95, 0.55, 0.16)),
                ("lin", "in"), masked=True, sprite="faces/images/maksssksksss369.jpg#0"),
            Obj(3, "face", ((0.0, 0.10, 0.90, 0.10), (0.8, 0.90, 0.08, 0.10)),
                sprite="faces/images/maksssksksss327.jpg#1"),
            Obj(4, "plate", ((0.2, 0.85, 0.12, 0.05), (1.0, 0.05, 0.20, 0.08)), ("smooth",),
                sprite="plates/images/Cars231.jpg#0"),
        ),
        (Bar(0.30, 0.11), Bar(0.70, 0.08)),
    ),
    ClipSpec(
        "t5_scene_cut",
        ("scene cut at the middle: the background and every object change",
         "a new face appears where the old one was just before the cut", "plate entering from the bottom",
         "a face popping in small and approaching"),
        1024, 576, F25, 200, ((0.0, "lot_c"), (0.5, "trees_flip")),
        (
            Obj(0, "face", ((0.0, 0.30, 0.40, 0.20), (0.5, 0.50, 0.45, 0.20)),
                sprite="faces/images/maksssksksss699.jpg#4"),
            Obj(1, "plate", ((0.0, 0.80, 0.70, 0.07), (0.5, 0.60, 0.75, 0.07)),
                sprite="plates/images/Cars67.jpg#0"),
            Obj(2, "face", ((0.5, 0.52, 0.45, 0.21), (1.0, 0.20, 0.40, 0.21)),
                sprite="faces/images/maksssksksss817.jpg#0"),
            Obj(3, "plate", ((0.5, 0.70, 1.10, 0.08), (1.0, 0.75, 0.60, 0.08)), ("out",),
                sprite="plates/images/Cars43.jpg#0"),
            Obj(4, "face", ((0.6, 0.85, 0.30, 0.05), (1.0, 0.80, 0.45, 0.15)), ("in",), masked=True,
                sprite="faces/images/maksssksksss452.jpg#0"),
        ),
    ),
)
CLIPS_BY_NAME = {c.name: c for c in CLIPS}

# --- the hard clips (issue 16) -----------------------------------------------------------------
# Their fixed faces include ones CenterFace scores weakly in their source photo (717#2: 0.24,
# 329#0: not found, 157#2 and 292#1: 0.47, 45#2: 0.58; scanned over 260 seeded crops), the failure mode
# the issue saw on real footage. The held-out clip draws every sprite from its seeded pool with no
# detector filter at all.

HELD_OUT = "h5_holdout_mixed"

HARD_CLIPS: tuple[ClipSpec, ...] = (
    ClipSpec(
        "h1_occluders",
        ("a foliage card crosses a weakly seen face: hidden ~1 s, back with weak detections",
         "a plate passes in front of a face for ~1 s (partial occlusion)",
         "a card crosses a moving plate", "a face walking behind a card with it, then out"),
        1024, 576, F25, 175, ((0.0, "lot_a"),),
        (
            Obj(0, "face", ((0.0, 0.33, 0.50, 0.16), (1.0, 0.37, 0.52, 0.16)),
                masked=True, sprite="faces/images/maksssksksss717.jpg#2"),
            Obj(1, "occluder", ((0.0, 0.05, 0.50, 0.50), (1.0, 0.63, 0.50, 0.50)), z=5, aspect=0.5),
            Obj(2, "face", ((0.0, 0.74, 0.30, 0.17), (1.0, 0.70, 0.32, 0.17)),
                sprite="faces/images/maksssksksss45.jpg#2"),
            Obj(3, "plate", ((0.0, 1.35, 0.33, 0.08), (1.0, 0.0, 0.33, 0.08)), z=4,
                sprite="plates/images/Cars303.jpg#0"),
            Obj(4, "plate", ((0.0, -0.10, 0.85, 0.07), (1.0, 1.10, 0.85, 0.07)),
                sprite="plates/images/Cars78.jpg#0"),
            Obj(5, "occluder", ((0.3, 0.55, 0.85, 0.30), (0.9, 0.45, 0.85, 0.30)), z=6, aspect=0.6),
        ),
    ),
    ClipSpec(
        "h2_pose_blur",
        ("in-plane rotation -40..+40 degrees while moving, with motion blur",
         "a face turning over to 120 degrees", "a fast zig-zag face with a 1.5x motion smear",
         "a fast, blurred, tilting plate"),
        1024, 576, F25, 175, ((0.0, "trees"),),
        (
            Obj(0, "face", ((0.0, 0.10, 0.40, 0.18), (1.0, 0.85, 0.45, 0.18)),
                rot=((0.0, -40.0), (0.5, 40.0), (1.0, -20.0)), blur=1.0, masked=True,
                sprite="faces/images/maksssksksss329.jpg#0"),
            Obj(1, "face", ((0.0, 0.70, 0.70, 0.20), (1.0, 0.55, 0.65, 0.20)),
                rot=((0.0, 0.0), (0.8, 120.0)), sprite="faces/images/maksssksksss525.jpg#0"),
            Obj(2, "face", ((0.0, 0.10, 0.20, 0.14), (0.2, 0.45, 0.30, 0.14), (0.4, 0.15, 0.25, 0.14),
                            (0.6, 0.50, 0.20, 0.14), (0.8, 0.20, 0.30, 0.14), (1.0, 0.45, 0.22, 0.14)),
                blur=1.5, masked=True, sprite="faces/images/maksssksksss275.jpg#0"),
            Obj(3, "plate", ((0.0, 1.10, 0.85, 0.07), (0.6, -0.10, 0.80, 0.07)), ("acc",),
                rot=((0.0, -15.0), (0.6, 15.0)), blur=1.0, sprite="plates/images/Cars180.jpg#0"),
        ),
    ),
    ClipSpec(
        "h3_approach",
        ("a face approaching from 14 px to 200 px tall", "a weakly seen face approaching from 12 px",
         "a plate approaching from 9 px tall", "a masked face approaching across the frame"),
        1024, 576, F25, 175, ((0.0, "asphalt"),),
        (
            Obj(0, "face", ((0.0, 0.50, 0.45, 0.025), (1.0, 0.40, 0.55, 0.35)), ("in",),
                sprite="faces/images/maksssksksss132.jpg#0"),
            Obj(1, "face", ((0.0, 0.20, 0.30, 0.02), (1.0, 0.15, 0.50, 0.12)), ("in",),
                masked=True, sprite="faces/images/maksssksksss157.jpg#2"),
            Obj(2, "plate", ((0.0, 0.75, 0.40, 0.015), (1.0, 0.85, 0.80, 0.10)), ("in",),
                sprite="plates/images/Cars159.jpg#0"),
            Obj(3, "face", ((0.1, 0.95, 0.20, 0.03), (1.0, 0.65, 0.40, 0.22)), ("smooth",),
                masked=True, sprite="faces/images/maksssksksss292.jpg#1"),
        ),
    ),
    ClipSpec(
        "h4_night_crf34",
        ("low light (x0.3), sensor noise (sigma 4) and x264 CRF 34", "two faces crossing",
         "a plate crossing the frame", "a face entering from the top edge"),
        1024, 576, F25, 175, ((0.0, "lot_b"),),
        (
            Obj(0, "face", ((0.0, 0.15, 0.45, 0.18), (1.0, 0.85, 0.50, 0.18)),
                sprite="faces/images/maksssksksss817.jpg#0"),
            Obj(1, "face", ((0.0, 0.85, 0.50, 0.20), (1.0, 0.15, 0.45, 0.20)), z=1,
                sprite="faces/images/maksssksksss699.jpg#4"),
            Obj(2, "plate", ((0.0, -0.10, 0.80, 0.08), (1.0, 1.10, 0.78, 0.08)),
                sprite="plates/images/Cars67.jpg#0"),
            Obj(3, "face", ((0.2, 0.60, -0.15, 0.15), (0.9, 0.60, 0.70, 0.15)), ("out",), masked=True,
                sprite="faces/images/maksssksksss369.jpg#0"),
        ),
        light=0.3, noise=4.0, crf=34,
    ),
    ClipSpec(
        HELD_OUT,
        ("HELD OUT of all tuning; sprites from the seeded pool with no detector filter",
         "a card crosses a face (~1 s)", "rotation and motion blur", "a face approaching from 16 px",
         "dim (x0.5), noise (sigma 3), CRF 30"),
        1280, 720, F25, 175, ((0.0, "lot_c"),),
        (
            Obj(0, "face", ((0.0, 0.30, 0.45, 0.15), (1.0, 0.45, 0.45, 0.15))),
            Obj(1, "occluder", ((0.0, 0.95, 0.45, 0.45), (1.0, 0.05, 0.45, 0.45)), z=5, aspect=0.45),
            Obj(2, "face", ((0.0, 0.80, 0.75, 0.16), (1.0, 0.10, 0.70, 0.16)), rot=((0.0, 30.0), (1.0, -30.0)),
                blur=1.0, masked=True),
            Obj(3, "face", ((0.0, 0.60, 0.20, 0.022), (1.0, 0.75, 0.35, 0.25)), ("in",)),
            Obj(4, "plate", ((0.0, 1.10, 0.88, 0.06), (1.0, -0.10, 0.85, 0.06)), blur=1.0),
            Obj(5, "plate", ((0.0, 0.15, 0.15, 0.02), (1.0, 0.25, 0.30, 0.09)), ("in",)),
        ),
        light=0.5, noise=3.0, crf=30,
    ),
)
CLIPS = CLIPS + HARD_CLIPS
CLIPS_BY_NAME = {c.name: c for c in CLIPS}
