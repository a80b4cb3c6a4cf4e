"""Container entry point: ``obscura batch /in /out`` with settings from the environment.

Runs as the image's exec-form ENTRYPOINT (no shell). Arguments given to ``docker run IMAGE ...``
(or a Kubernetes ``args:``) are passed on to ``obscura batch`` after the folders, e.g.
``--jobs 2 --leak-stride 2`` or ``--shard 3 --shards 8``.

Environment (all optional):
  OBSCURA_IN / OBSCURA_OUT   the folders (default /in and /out)
  OBSCURA_JOBS               --jobs when no --jobs argument is given
  OBSCURA_SHARDS             with JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job): process
                             shard JOB_COMPLETION_INDEX of OBSCURA_SHARDS, when no --shard is given
  OBSCURA_DATA               the product's writable data folder (logs); the image sets a tmpfs path

Exit code: that of ``obscura batch`` (0 all done, 1 a file failed, 2 no input folder, 4 the output
folder is not writable).
"""

from __future__ import annotations

import os
import sys
import tempfile


def build_argv(argv: list[str], env: dict[str, str]) -> list[str]:
    in_dir = env.get("OBSCURA_IN", "/in")
    out_dir = env.get("OBSCURA_OUT", "/out")
    args = ["batch", in_dir, out_dir, *argv]
    if env.get("OBSCURA_JOBS") and "--jobs" not in argv:
        args += ["--jobs", env["OBSCURA_JOBS"]]
    if env.get("OBSCURA_SHARDS") and "--shard" not in argv and "--shards" not in argv:
        args += ["--shard", env.get("JOB_COMPLETION_INDEX", "0"), "--shards", env["OBSCURA_SHARDS"]]
    return args


def check_out_dir(out_dir: str) -> str | None:
    """None when ``out_dir`` can be written, else why not (one line)."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".obscura-write-test-"):
            pass
    except OSError as e:
        return f"the output folder {out_dir} is not writable ({e.strerror or e}); mount a writable volume there"
    return None


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        argv = ["--help"]
    args = build_argv(argv, env)
    if "--help" not in argv:
        why = check_out_dir(args[2])
        if why:
            print(f"obscura: error: {why}", file=sys.stderr)
            return 4
    data = env.get("OBSCURA_DATA")
    if data:
        os.makedirs(data, exist_ok=True)
    from app.cli import main as obscura

    return obscura(args)


if __name__ == "__main__":
    sys.exit(main())
