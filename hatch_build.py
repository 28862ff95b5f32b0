"""Puts Swagger UI into the package before hatchling builds it (the wheel, the editable
install, the sdist): the files of `swagger-ui-dist`, the build Swagger UI publishes on npm, at
a pinned version whose tarball must have the pinned digest. `/docs` and `/_mock/docs` serve
them (`viewer.py`), so the pages work with the network unplugged.

They go to `src/connectors_mock/_viewer/swagger-ui/` (not in git, as the built guide is not):
fetched once with `npm pack`, then kept. Without npm the build goes on with a warning, and the
server says on `/docs` that the viewer was not built in; an sdist carries the files, so a wheel
built from it needs no npm.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "swagger-ui-dist"
VERSION = "5.35.0"
# `npm view swagger-ui-dist@5.35.0 dist.integrity`: a tarball that differs is refused.
INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
# What the pages load, and the licences that travel with it (Apache-2.0, and the notices of
# the libraries bundled into the script).
FILES = (
    "LICENSE",
    "NOTICE",
    "package.json",
    "swagger-ui-bundle.js",
    "swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui.css",
)
TARGET = Path(__file__).parent / "src" / "connectors_mock" / "_viewer" / "swagger-ui"


def vendored() -> bool:
    """Whether the pinned version is in place already."""
    if not all((TARGET / name).is_file() for name in FILES):
        return False
    manifest = json.loads((TARGET / "package.json").read_text(encoding="utf-8"))
    return bool(manifest.get("version") == VERSION)


def fetch(npm: str) -> None:
    """`npm pack` the pinned version, check its digest, and keep `FILES` from it."""
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", work, "--json", "--silent"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        tarball = Path(work) / json.loads(done.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise RuntimeError(f"{tarball.name}: digest {digest}, not the pinned {INTEGRITY}")
        staging = Path(work) / "files"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for name in FILES:
                member = archive.getmember(f"package/{name}")
                source = archive.extractfile(member)
                assert source is not None, name
                (staging / name).write_bytes(source.read())
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, TARGET)


class ViewerHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if vendored():
            return
        npm = shutil.which("npm")
        if npm is None:
            self.app.display_warning(f"npm not found: {PACKAGE} {VERSION} is not in this build, and /docs will say so")
            return
        self.app.display_info(f"fetching {PACKAGE} {VERSION} with npm into {TARGET}")
        try:
            fetch(npm)
        except (OSError, subprocess.SubprocessError, KeyError, ValueError) as error:
            # Offline, or npm failed: the build goes on without it. A wrong digest (RuntimeError)
            # stops the build instead: that tarball is not the one pinned.
            self.app.display_warning(f"{PACKAGE} {VERSION} not fetched ({error}); /docs will say so")
