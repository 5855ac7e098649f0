"""Errors and checks that the REST API and the pages share, so neither imports
the other's module."""

from __future__ import annotations

import uuid

from describe.errors import ImgdescError


class NotFoundError(ImgdescError):
    status_code = 404


def check_id(id: str) -> str:
    """Ids are UUIDs; anything else never reaches the store or the file system."""
    try:
        return str(uuid.UUID(id))
    except ValueError:
        raise NotFoundError(f"no image with id {id!r}") from None
