"""A long clip for memory measurements: ``python bench/long_clip.py SRC DST N`` remuxes SRC's video
packets N times one after the other (no re-encode; each copy starts with SRC's keyframe)."""

from __future__ import annotations

import sys

import av


def loop(src: str, dst: str, n: int) -> int:
    frames = 0
    with av.open(src) as inp, av.open(dst, "w") as out:
        ins = inp.streams.video[0]
        os_ = out.add_stream_from_template(ins)
        pkts = [p for p in inp.demux(ins) if p.size]
        span = max(p.pts for p in pkts) - min(p.pts for p in pkts) + (pkts[1].pts - pkts[0].pts if len(pkts) > 1 else 1)
        span = max(span, max(p.pts for p in pkts) + 1)
        for k in range(n):
            for p in pkts:
                q = av.Packet(bytes(p))
                q.pts = p.pts + k * span
                q.dts = p.dts + k * span
                q.is_keyframe = p.is_keyframe
                q.time_base = p.time_base
                q.stream = os_
                out.mux(q)
                frames += 1
    return frames


if __name__ == "__main__":
    print(loop(sys.argv[1], sys.argv[2], int(sys.argv[3])), "frames")
