"""REST endpoints for the rest of a family: more like this, the near-duplicate and variant
groups, and people's decisions about them (reviewed, hidden from search). Files are never
deleted or moved: hiding is a flag search reads (catalog/families/).

Reads and the small decision writes run on `services.reads`, like a search.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from app.api.schemas import CLOSED
from app.auth.accounts import Role
from app.errors import NotFoundError, check_id, errors
from app.services import Services
from catalog.families.listing import DuplicateGroup, duplicate_groups
from catalog.families.rules import NEAR, VARIANT
from catalog.store.base import StoredImage
from search.service import SearchHit
from search.similar import SimilarImages

MAX_IDS = 1000  # images in one decision: a page of groups, many times over


class Kind(StrEnum):
    near_duplicate = NEAR
    variant = VARIANT


class SimilarResponse(msgspec.Struct):
    id: str  # the image asked about; never among the hits
    hits: list[SearchHit]


class DuplicatesResponse(msgspec.Struct):
    groups: list[DuplicateGroup]
    # false while the groups are still being worked out from the store (a server that
    # watches no folder, just started): more may come
    complete: bool


_IDS = msgspec.Meta(min_length=1, max_length=MAX_IDS, description="Image ids")


class Review(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: Kind
    ids: Annotated[list[str], _IDS]
    reviewed: bool = True


class Hide(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[str], _IDS]
    hidden: bool = True


class Decision(msgspec.Struct):
    ids: list[str]  # the images the decision was made for
    value: bool  # reviewed, or hidden, as now recorded


def records_of(services: Services, raw_ids: list[str]) -> dict[str, StoredImage]:
    """The stored records of the ids asked about; NotFoundError naming the unknown ones."""
    ids = list(dict.fromkeys(check_id(i) for i in raw_ids))
    records = services.store.get_many(ids)
    missing = [i for i in ids if i not in records]
    if missing:
        raise NotFoundError(
            f"no image with id {', '.join(repr(m) for m in missing[:5])}", {"missing": missing}
        )
    return records


def similar_images(services: Services) -> SimilarImages:
    families = services.families
    return SimilarImages(services.store, families, hidden=families.hidden_ids)


class FamiliesController(Controller):
    path = "/api"
    tags = ["api"]  # noqa: RUF012 - Litestar's own attribute type

    @get("/images/{id:str}/similar", role=Role.viewer, responses=errors(400, 404, 503))
    async def similar(
        self,
        services: NamedDependency[Services],
        id: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> SimilarResponse:
        """Images like this one, best first, as search hits: by the SigLIP image vector when
        the image has one, else its label distribution, description and colours together;
        its near copies first. The image itself and images hidden from search are left out."""
        image_id = check_id(id)

        def find() -> list[SearchHit]:
            if services.store.get(image_id) is None:
                raise NotFoundError(f"no image with id {id!r}")
            return similar_images(services).similar(image_id, limit)

        return SimilarResponse(id=image_id, hits=await services.reads.run(find))

    @get("/duplicates", role=Role.viewer, responses=errors(400, 503))
    async def duplicates(
        self,
        services: NamedDependency[Services],
        kind: FromQuery[Kind | None] = None,
        reviewed: Annotated[
            bool | None, QueryParameter(description="true: only groups reviewed; false: only those not yet")
        ] = None,
    ) -> DuplicatesResponse:
        """Near-duplicate groups (the same picture resized, cropped, recompressed or
        recoloured a little) and generation variants (one prompt, other seeds, alike to
        look at), the biggest first; each with its members' size, format and date, and the
        member suggested to keep (most pixels, then sharpest)."""

        def listed() -> DuplicatesResponse:
            families = services.families
            groups = duplicate_groups(families, services.store, kind.value if kind else None, reviewed)
            return DuplicatesResponse(groups=groups, complete=families.synced)

        return await services.reads.run(listed)

    @post("/duplicates/review", role=Role.editor, status_code=200, responses=errors(400, 403, 404, 503))
    async def review(self, services: NamedDependency[Services], data: Annotated[Review, CLOSED]) -> Decision:
        """Mark a group's members as reviewed in groups of `kind` (false: not reviewed). A
        group counts as reviewed while all its members are, so a new copy joining it brings
        it back."""

        def mark() -> Decision:
            records = records_of(services, data.ids)
            services.families.set_reviewed(records, data.kind.value, data.reviewed)
            return Decision(ids=list(records), value=data.reviewed)

        return await services.reads.run(mark)

    @post("/images/hidden", role=Role.editor, status_code=200, responses=errors(400, 403, 404, 503))
    async def hide(self, services: NamedDependency[Services], data: Annotated[Hide, CLOSED]) -> Decision:
        """Hide images from search (false: show them again). Nothing is deleted: a hidden
        image stays in the catalog, in its groups and at its own page, and follows its
        content through moves and copies."""

        def mark() -> Decision:
            records = records_of(services, data.ids)
            services.families.set_hidden(records, data.hidden)
            return Decision(ids=list(records), value=data.hidden)

        return await services.reads.run(mark)
