"""What to run to add an extra to this installation, worked out from how it was installed.

connectors-mock is not on a public index: `pip install 'connectors-mock[contract]'` finds
nothing for most users. The command has to name what this copy came from: the checkout it is
an editable install of, the folder or wheel it was installed from (PEP 610's
`direct_url.json`), or, only when pip found it on an index, the index's name for it. It runs
this Python's pip, so the extra lands where the command that needed it runs.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

DISTRIBUTION = "connectors-mock"


def install_command(extra: str) -> str:
    """A shell command that installs connectors-mock with `extra` into the running Python."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        # Imported from a source tree that was never installed (PYTHONPATH=src).
        return f"{pip} -e {shlex.quote(f'{source_root()}[{extra}]')}"
    origin = distribution.read_text("direct_url.json")
    if origin is None:
        # From an index: the same index serves the extra, for the same version.
        return f"{pip} {shlex.quote(f'{DISTRIBUTION}[{extra}]=={distribution.version}')}"
    return f"{pip} {requirement(json.loads(origin), extra, distribution.version)}"


def requirement(origin: dict[str, Any], extra: str, version: str) -> str:
    """pip's argument for a PEP 610 origin, with `extra`, shell-quoted."""
    url = str(origin.get("url", ""))
    if "vcs_info" in origin:
        vcs = origin["vcs_info"]
        revision = vcs.get("commit_id") or vcs.get("requested_revision")
        pinned = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{revision}" if revision else "")
        return shlex.quote(f"{DISTRIBUTION}[{extra}] @ {pinned}")
    parts = urlsplit(url)
    if parts.scheme != "file":
        return shlex.quote(f"{DISTRIBUTION}[{extra}] @ {url}")
    path = Path(url2pathname(parts.path))
    if origin.get("dir_info", {}).get("editable"):
        return "-e " + shlex.quote(f"{path}[{extra}]")
    if path.exists():
        return shlex.quote(f"{path}[{extra}]")
    # The folder or wheel it came from is gone: the next best is the index's name for it.
    return shlex.quote(f"{DISTRIBUTION}[{extra}]=={version}")


def source_root() -> Path:
    """The checkout this module is in: the folder with pyproject.toml above `src/`."""
    return Path(__file__).resolve().parents[2]
