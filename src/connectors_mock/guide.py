"""The guide (`docs/`, a MkDocs site), at `/_mock/guide`, so it can be read with the network
unplugged: the site as MkDocs built it into the package, or, when it was not built, a page
that says where the guide is and how to build it."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from connectors_mock import resources
from connectors_mock.consent import page

GUIDE_PATH = "/_mock/guide"


def guide_routes() -> list[BaseRoute]:
    async def to_index(request: Request) -> Response:
        # The site's links are relative to its index: `/_mock/guide` would lose the last segment.
        return RedirectResponse(f"{GUIDE_PATH}/", status_code=308)

    built = resources.guide_dir()
    if built is not None:
        return [Route(GUIDE_PATH, to_index), Mount(GUIDE_PATH, StaticFiles(directory=built, html=True))]

    async def not_built(request: Request) -> Response:
        sources = resources.guide_sources()
        where = (
            f"Its pages are in <code>{escape(str(sources))}</code>; build them with "
            f"<code>mkdocs build</code> in <code>{escape(str(sources.parent))}</code>, and this page serves them."
            if sources is not None
            else "Read it in the <code>docs/</code> folder of connectors-mock's source."
        )
        return page("The guide was not built into this installation", f"<p>{where}</p>", 404)

    return [Route(GUIDE_PATH, not_built), Route(GUIDE_PATH + "/{page:path}", not_built)]
