"""What tracking buys on real footage: frames where the per-frame detector missed a face and the
track still covered it, shown as a contact sheet of *redacted* frames (no face is ever shown).

    python bench/tracking_showcase.py [VIDEO] [--out docs/egoblur_tracking_contact_sheet.jpg]

Default video: ../shared/data/videos/egoblur_gen1_faces_608x1080.mp4. It prints the number of
tracks, and the frames where a face track had no detection at the seed score (so per-frame
redaction would have left it visible). Each tile is the exported picture of that frame, with the
tracked-only mask outlined in yellow.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.base.progress import run  # noqa: E402
from app.core.project import Project  # noqa: E402
from app.detection.detections import CLASS_IDS, box_iou  # noqa: E402
from app.detection.detector import Detector, DetectorConfig  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402
from app.pipelines.analyze import analyze, apply_tracks  # noqa: E402
from app.redaction.compose import redact_bgr  # noqa: E402
from app.redaction.masks import grown_points  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "videos" / "egoblur_gen1_faces_608x1080.mp4"


def tracked_only_moments(project: Project, raw, seeds: dict) -> list[tuple[int, str, tuple]]:
    """(frame, track id, box) where a face track is shown but no seed-level detection is on it."""
    face = CLASS_IDS["face"]
    strong = raw[(raw.class_id == face) & (raw.score >= seeds[face])] if len(raw) else raw
    by_frame: dict[int, np.ndarray] = {}
    for f in np.unique(strong.frame) if len(strong) else []:
        by_frame[int(f)] = strong.xyxy[strong.frame == f]
    out = []
    for t in project.tracks:
        if t.cls != "face":
            continue
        for a, b in t.spans():
            for f in range(a, b + 1):
                box = t.shape_at(f).bbox
                dets = by_frame.get(f)
                hit = dets is not None and (box_iou(np.array([box]), dets) >= 0.1).any()
                if not hit:
                    out.append((f, t.id, box))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", nargs="?", default=str(DEFAULT))
    ap.add_argument("--out", default=str(ROOT / "docs" / "egoblur_tracking_contact_sheet.jpg"))
    ap.add_argument("--tiles", type=int, default=8)
    args = ap.parse_args()
    det = Detector(DetectorConfig(device="auto"))
    print(det.describe())
    project = Project()
    t0 = time.perf_counter()
    res = run(analyze(args.video, det))
    apply_tracks(project, res.built)
    dt = time.perf_counter() - t0
    by = {}
    for t in project.tracks:
        by[t.cls] = by.get(t.cls, 0) + 1
    print(f"{args.video}: {res.frames} frames in {dt:.0f} s ({res.frames / dt:.1f} fps); {res.detections} detections; "
          f"tracks: {by}; scene cuts: {res.cuts}")
    moments = tracked_only_moments(project, res.raw, det.seed_scores())
    frames_missed = sorted({f for f, _, _ in moments})
    print(f"face-track frames with no seed-level detection (per-frame redaction would leak): "
          f"{len(moments)} object-frames on {len(frames_missed)} frames")
    labels: dict[int, str] = {}
    if moments:
        # spread the tiles over the clip: the first frame of each run of consecutive moments
        starts = [f for i, f in enumerate(frames_missed) if i == 0 or frames_missed[i - 1] != f - 1]
        pick = starts[:: max(1, len(starts) // args.tiles)][: args.tiles]
        labels = {f: "tracked, not detected" for f in pick}
    else:
        # Nothing to show of that kind: show the hardest frames instead (lowest face score).
        face = res.raw[res.raw.class_id == CLASS_IDS["face"]]
        order = np.argsort(face.score)
        pick, labels = [], {}
        for i in order:
            f = int(face.frame[i])
            if all(abs(f - g) > 10 for g in pick):
                pick.append(f)
                labels[f] = f"score {face.score[i]:.2f}"
            if len(pick) == args.tiles:
                break
        pick.sort()
        print("no tracked-only moments: the sheet shows the frames with the weakest face detections")
    tiles = []
    with VideoReader(args.video) as reader:
        for f in pick:
            img = reader.read(f).to_bgr()
            masks = project.masks_at(f)
            out = redact_bgr(img, [(s, st) for _t, s, st in masks])
            for fr, tid, _box in moments:
                if fr != f:
                    continue
                track = project.track(tid)
                pts = grown_points(track.shape_at(f), project.style_for(track).margin)
                x1, y1 = pts.min(axis=0)
                x2, y2 = pts.max(axis=0)
                cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), (0, 220, 255), 3)
            cv2.putText(out, f"frame {f}: {labels[f]}", (12, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 3)
            h = 540
            tiles.append(cv2.resize(out, (int(out.shape[1] * h / out.shape[0]), h), interpolation=cv2.INTER_AREA))
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)])
    cv2.imwrite(args.out, sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"contact sheet: {args.out} (frames {pick})")


if __name__ == "__main__":
    main()
