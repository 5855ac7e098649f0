"""The families as people see them, for the REST API and the "Duplicates & variants"
page alike: each group's members with what tells copies apart (size, format, date), the
keeper suggested, and whether people reviewed the group or hid a member.

The keeper is the member with the most pixels, then the sharpest (the composition
analyzer's Laplacian variance, measured on a copy of one working size so images of any
size compare), then the most bytes (the least recompressed): the copy worth keeping when
the others are hidden from search. Nothing here deletes or moves a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

import msgspec

from catalog.families.groups import Families
from catalog.families.rules import VARIANT
from catalog.store.base import Store, StoredImage

# how file name endings are shown as formats
_FORMATS = {"jpg": "JPEG", "jpe": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF", "dib": "BMP"}


class GroupImage(msgspec.Struct, kw_only=True):
    id: str
    path: str  # the first of its paths
    paths: list[str]
    filename: str
    width: int
    height: int
    size_bytes: int
    format: str  # from the file name: JPEG, PNG, WEBP, …
    date: str  # when it was described (ISO 8601, UTC)
    sharpness: float | None  # Laplacian variance at the working size; None when not measured
    description: str
    hidden: bool  # hidden from search by a person
    keeper: bool  # the member suggested to keep


class DuplicateGroup(msgspec.Struct, kw_only=True):
    kind: str  # "near-duplicate" or "variant"
    images: list[GroupImage]  # the keeper first, then by path
    keeper: str  # its id
    reviewed: bool  # every member was reviewed in a group of this kind
    prompt: str = ""  # variants: the generation prompt they share


def file_format(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower().lstrip(".")
    return _FORMATS.get(suffix, suffix.upper())


def keeper(records: Mapping[str, StoredImage]) -> str:
    """The id of the member to keep: most pixels, then sharpest, then most bytes."""

    def merit(item: tuple[str, StoredImage]) -> tuple[int, float, int, str]:
        pid, p = item
        sharp = p.composition.sharpness if p.composition else 0.0
        return (p.width * p.height, sharp, p.size_bytes, pid)

    return max(records.items(), key=merit)[0]


def group_image(pid: str, p: StoredImage, hidden: bool, kept: bool) -> GroupImage:
    return GroupImage(
        id=pid,
        path=p.paths[0] if p.paths else "",
        paths=p.paths,
        filename=p.filename,
        width=p.width,
        height=p.height,
        size_bytes=p.size_bytes,
        format=file_format(p.paths[0] if p.paths else p.filename),
        date=p.described_at,
        sharpness=round(p.composition.sharpness, 1) if p.composition else None,
        description=p.description,
        hidden=hidden,
        keeper=kept,
    )


def duplicate_groups(
    families: Families, store: Store, kind: str | None = None, reviewed: bool | None = None
) -> list[DuplicateGroup]:
    """Every group (of `kind`, or both kinds), biggest first; `reviewed` True or False keeps
    only the groups reviewed, or not yet. Members that left the store meanwhile are left out."""
    groups = [g for g in families.groups(kind) if reviewed is None or g.reviewed == reviewed]
    records = store.get_many(sorted({pid for g in groups for pid in g.ids}))
    hidden = families.hidden_ids()
    found = []
    for group in groups:
        members = {pid: records[pid] for pid in group.ids if pid in records}
        if len(members) < 2:
            continue
        best = keeper(members)
        images = [group_image(pid, p, pid in hidden, pid == best) for pid, p in members.items()]
        images.sort(key=lambda image: (not image.keeper, image.path))
        check = members[best].prompt_check
        prompt = check.prompt if group.kind == VARIANT and check is not None else ""
        found.append(
            DuplicateGroup(
                kind=group.kind, images=images, keeper=best, reviewed=group.reviewed, prompt=prompt
            )
        )
    return found
