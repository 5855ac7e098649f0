"""Every error the app answers with, in one place: the app's own error types, the
one table of statuses the REST API documents, the JSON error body and its handlers.
The pages render the same errors as HTML (app/web/errors.py); both rooms import
from here, never from each other."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from catalog.space import is_out_of_space
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")
LOADING_RETRY_AFTER = 5  # seconds a client waits before asking again while models load


class NotFoundError(ImgdescError):
    status_code = 404


class RetryLaterError(ImgdescError):
    """A 503 that says when to come back (the `Retry-After` header)."""

    status_code = 503

    def __init__(self, message: str, retry_after: int, detail: Any = None) -> None:
        super().__init__(message, detail)
        self.retry_after = retry_after


class BusyError(RetryLaterError):
    """The describe lane is full (app/work.py)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the describer is busy; retry shortly", retry_after, {"retry_after": retry_after})


class NotReadyError(RetryLaterError):
    """The services are still loading, or failed to (the message says which)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, LOADING_RETRY_AFTER)


def check_id(id: str) -> str:
    """Ids are UUIDs; anything else never reaches the store or the file system."""
    try:
        return str(uuid.UUID(id))
    except ValueError:
        raise NotFoundError(f"no image with id {id!r}") from None


class ErrorBody(msgspec.Struct):
    """Every error the REST API sends."""

    error: str
    detail: Any = None


ERRORS = {
    400: "Malformed request: a bad parameter, or (uploads) a body that is not multipart/form-data "
    "or has no file field named `image`",
    401: "No token or a wrong one, once the server has accounts: send `Authorization: Bearer TOKEN` "
    "(`WWW-Authenticate` says so)",
    403: "Sent from another site's page (its Origin or Referer is not this server), or the account's "
    "role is not enough for this operation",
    404: "Unknown image id, profile or captioner",
    409: "The captioner asked for exists but is not loaded in this server",
    413: "Over the byte limit (`max_bytes`) or the pixel limit (`max_pixels`); the message says which",
    415: "The file is not a supported image",
    421: "The Host is not a name this server answers to (`allowed_hosts`)",
    422: "The image is empty, truncated or corrupt",
    503: "Models are still loading, or the describer is busy: retry after `Retry-After` seconds; "
    "or the store could not be read (it is being checked and rebuilt: the message says so)",
    507: "The disk holding the catalog is full: nothing was changed; free space and retry",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for these error statuses (and 401 and 421, which every route can
    answer: app/auth/access.py and app/guards.py)."""
    return {
        code: ResponseSpec(ErrorBody, description=ERRORS[code], generate_examples=False)
        for code in sorted({*codes, 401, 421})
    }


def mib(size: int) -> str:
    """Bytes as MiB for messages: 26214400 → '25', 2000000 → '1.9'."""
    return f"{round(size / 2**20, 1):g}"


def http_error_message(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    """Litestar's own errors in words a user can act on: a body over the size
    limit says the limit; a failed validation says what failed."""
    if exc.status_code == 413:
        max_bytes = request.app.state.get("max_bytes")
        if max_bytes:
            return f"the upload is over the {mib(max_bytes)} MiB limit"
    extra = exc.extra if isinstance(exc.extra, list) else []
    problems = [p["message"] for p in extra if isinstance(p, dict) and "message" in p]
    return f"{exc.detail}: {'; '.join(problems)}" if problems else str(exc.detail)


def retry_headers(exc: Exception) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, RetryLaterError) else {}


def _json(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(ErrorBody(message, detail), status_code=status, headers=headers)


def imgdesc_error(_: Request[Any, Any, Any], exc: ImgdescError) -> Response[Any]:
    return _json(exc.status_code, exc.message, exc.detail, retry_headers(exc) or None)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _json(exc.status_code, http_error_message(request, exc), exc.extra or None, exc.headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_out_of_space(exc):  # an edit's write on a full disk: a state, not a bug
        log.error("%s %s: the disk is full (%s)", request.method, request.url.path, exc)
        return _json(507, ERRORS[507])
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; see the server log")


JSON_HANDLERS: ExceptionHandlersMap = {
    ImgdescError: imgdesc_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
