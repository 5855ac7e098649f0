"""The upload waiting area and the copy into the watched folder: names are
cleaned, the area stays bounded, and nothing is ever overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.web.uploads import UploadArea, copy_into, image_extension, safe_filename
from tests.fakes import image_bytes

HOSTILE = "<img src=x onerror=alert(1)>.png"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (HOSTILE, "img src-x onerror-alert(1).jpg"),
        ("../../etc/passwd", "passwd.jpg"),
        (".hidden.png", "hidden.jpg"),
        ("C:\\Users\\me\\Cat.JPG", "Cat.jpg"),
        ("", "upload.jpg"),
        ("a\x00b\nc.png", "abc.jpg"),
    ],
)
def test_safe_filenames(name: str, expected: str) -> None:
    assert safe_filename(name, ".jpg") == expected


def test_upload_area_is_bounded_and_copies_never_overwrite(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "uploads", max_files=3)
    staged = [area.put(image_bytes(i), f"p{i}.png") for i in range(5)]
    assert len(list((tmp_path / "uploads").iterdir())) == 3
    assert area.get(staged[0].sha256) is None and area.get(staged[4].sha256) is not None
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "p4.png").write_bytes(b"the user's own file")
    source = staged[4].path
    assert copy_into(folder, source, "p4.png") == "p4-2.png"
    assert copy_into(folder, source, "p4.png") == "p4-3.png"
    assert (folder / "p4.png").read_bytes() == b"the user's own file"


def test_the_extension_comes_from_the_name_or_else_the_bytes() -> None:
    png = image_bytes(1)
    assert image_extension(png, "photo.JPEG") == ".jpeg"
    assert image_extension(png, "photo.exe") == ".png"
    assert image_extension(png, "") == ".png"
