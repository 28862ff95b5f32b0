"""Podman, as these machines allow it, for `check_image.py` and `benchmarks/container.py`.

Public base images cannot be pulled here, so the base is made from Debian's packages with
mmdebstrap (python3, python3-venv, ca-certificates) and imported; it is kept in podman's
storage under the user's cache directory between runs. Podman runs with the vfs storage
driver, cgroupfs, host networking and no default ulimits (`containers.conf`), and a build
mounts the host's CA certificates read-only, for pip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BASE_IMAGE = "localhost/connectors-mock-base:bookworm"
IMAGE = "localhost/connectors-mock:check"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "connectors-mock" / "podman"


class Unavailable(Exception):
    """Podman cannot run here; the message says why."""


def environment() -> dict[str, str]:
    """Podman's environment: this project's configuration, and storage in the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    storage = CACHE / "storage.conf"
    storage.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{CACHE / "graph"}"\nrunroot = "{CACHE / "run"}"\n')
    return {**os.environ, "CONTAINERS_CONF": str(HERE / "containers.conf"), "CONTAINERS_STORAGE_CONF": str(storage)}


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=environment(), capture_output=True, text=True, check=check, timeout=timeout
    )


def install_tools() -> None:
    """Debian's podman, runc and mmdebstrap, when they are missing and this runs as root."""
    if all(shutil.which(tool) for tool in ("podman", "runc", "mmdebstrap")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("podman, runc and mmdebstrap are missing, and only root can install them with apt-get")
    apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=apt, check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "podman", "runc", "mmdebstrap", "uidmap"],
        env=apt,
        check=True,
        capture_output=True,
    )


def ensure_base() -> str:
    """The stand-in base image: built once, then found in podman's storage."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return "kept from an earlier run"
    with tempfile.TemporaryDirectory() as work:
        tarball = Path(work) / "base.tar"
        subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(tarball)],
            check=True,
            capture_output=True,
            timeout=900,
        )
        podman("import", str(tarball), BASE_IMAGE)
    return "built with mmdebstrap"


def build(tag: str = IMAGE) -> None:
    """The image from the checkout's Dockerfile, on the stand-in base. One layer per stage
    (`--layers=false`): vfs copies the whole tree for every layer."""
    podman(
        *("build", "--layers=false", "--format", "docker", "--network", "host"),
        *("--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-v", "/etc/ssl/certs:/etc/ssl/certs:ro"),
        *("-t", tag, str(ROOT)),
        timeout=900,
    )
