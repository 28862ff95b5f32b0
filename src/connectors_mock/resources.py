"""Where the contract, the default fixtures and the example scenarios live.

An installed wheel carries them inside the package (under `_data/`); a checkout keeps them
at the repository root, where an editable install finds them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parent / "_data"
_CHECKOUT = Path(__file__).resolve().parents[2]


def _find(relative: str) -> Path:
    for root in (_PACKAGED, _CHECKOUT):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"connectors-mock cannot find its {relative!r} (looked in {_PACKAGED} and {_CHECKOUT})")


def spec_path() -> Path:
    return _find("openapi.yaml")


def default_fixtures_path() -> Path:
    return _find("fixtures/default.yaml")


def scenarios_dir() -> Path:
    return _find("scenarios")


def example_scenarios() -> dict[str, Path]:
    """The example scenarios shipped in the package, by name (`outage`), in name order."""
    return {path.stem: path for path in sorted(scenarios_dir().glob("*.yaml"))}


def guide_dir() -> Path | None:
    """The guide as MkDocs built it into the package (`mkdocs build`; a wheel built after it
    carries it), or None when it was not built."""
    built = Path(__file__).parent / "_guide"
    return built if (built / "index.html").exists() else None


def static_dir() -> Path:
    """The fake's own pages' scripts and stylesheet (`pages.py`)."""
    return Path(__file__).parent / "static"


def viewer_dir() -> Path | None:
    """Swagger UI as the build put it into the package (`hatch_build.py`), or None when the
    build had no npm to fetch it with."""
    built = Path(__file__).parent / "_viewer" / "swagger-ui"
    return built if (built / "swagger-ui-bundle.js").exists() else None


def guide_sources() -> Path | None:
    """The guide's Markdown, in a checkout (`docs/`); an installed wheel has none."""
    docs = _CHECKOUT / "docs"
    return docs if (docs / "index.md").exists() else None
