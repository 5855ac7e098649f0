"""Wiring for the htmx pages: templates, static files and HTML error pages.
server.create_app adds what `web_config` returns. Which hosts and origins may
use the pages (and everything else) is decided in app/guards.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.auth.accounts import Role
from app.config import Settings
from app.web.describe import DescribeController
from app.web.duplicates import DuplicatesController
from app.web.edits import EditsController
from app.web.errors import page_error
from app.web.login import LoginController, signed_in
from app.web.pages import PagesController
from app.web.responses import PAGE_HEADERS
from app.web.uploads import UploadArea
from app.web.views import short
from describe.errors import ImgdescError

STATIC = Path(__file__).parent / "static"
APP = Path(__file__).parent.parent


def template_dirs() -> list[Path]:
    """The package's copy first (a wheel puts templates/ inside app/), then the repo's."""
    return [d for d in (APP / "templates", APP.parent / "templates") if d.is_dir()]


def template_engine() -> JinjaTemplateEngine:
    env = Environment(
        loader=FileSystemLoader(template_dirs()),
        autoescape=True,  # every filename, description, OCR text and query is user-controlled
        undefined=StrictUndefined,  # a typo in a template fails the tests instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short"] = short
    engine = JinjaTemplateEngine.from_environment(env)
    engine.register_template_callable("signed_in", signed_in)  # the layout's "Log out" (app/web/login.py)
    return engine


def _no_nul(request: Request[Any, Any, Any]) -> None:
    """A NUL can name no file; the file system would refuse it with a ValueError (a 500)."""
    if "\x00" in request.url.path:
        raise NotFoundException("no such file")


def _nosniff(response: Response[Any]) -> Response[Any]:
    """Static files are served as the type their name says, never as what a browser guesses."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def web_config(settings: Settings) -> dict[str, Any]:
    """Litestar arguments for the pages; server.create_app merges them in."""
    uploads = UploadArea(Path(settings.data_dir) / "uploads")
    pages = Router(
        path="/",
        route_handlers=[
            PagesController,
            DescribeController,
            EditsController,
            LoginController,
            DuplicatesController,
        ],
        response_headers=PAGE_HEADERS,
        dependencies={"uploads": Provide(lambda: uploads, sync_to_thread=False)},
        exception_handlers={ImgdescError: page_error, HTTPException: page_error, Exception: page_error},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static", directories=[STATIC], include_in_schema=False,
        before_request=_no_nul, after_request=_nosniff, opt={"role": Role.public},
    )  # fmt: skip
    return {
        "route_handlers": [pages, static],
        "plugins": [HTMXPlugin()],
        "template_config": TemplateConfig(instance=template_engine()),
    }
