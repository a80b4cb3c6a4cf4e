"""The container images, built and run for real by packaging/container/test_container.sh.

Builds the CPU image (batch and serve targets) from a local Debian base (or $PYTHON_IMAGE), runs
the sample through the batch image hardened (read-only, no capabilities, no network, uid 10001)
and the job life cycle through the serve image; about 10 minutes on 2 busy cores, so opt-in:

    OBSCURA_TEST_CONTAINER=1 pytest -q tests/test_container.py -s     # + OBSCURA_TEST_CONTAINER_CUDA=1

It needs root, podman (or docker) and, without $PYTHON_IMAGE, debootstrap:
apt-get install -y podman buildah runc debootstrap.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "packaging" / "container" / "test_container.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("OBSCURA_TEST_CONTAINER") != "1",
                       reason="builds and runs the container images (about 10 min): set OBSCURA_TEST_CONTAINER=1"),
    pytest.mark.skipif(not (shutil.which("podman") or shutil.which("docker")),
                       reason="no container engine (apt-get install -y podman buildah runc debootstrap)"),
]


def test_images_build_and_run_hardened(tmp_path):
    args = ["--cuda"] if os.environ.get("OBSCURA_TEST_CONTAINER_CUDA") == "1" else []
    env = {**os.environ, "WORK": os.environ.get("WORK", str(tmp_path / "work"))}
    r = subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=3600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "test_container: all checks passed" in r.stdout
    assert "FAIL" not in r.stdout
