"""The catalog's families: near-duplicates and generation variants (catalog/families/rules.py),
worked out one image at a time as the indexer writes it.

`sync()` reads every payload once (at the indexer's start-up, or in the background for a
server that watches no folder), puts the hashes in memory (catalog/families/hashindex.py),
takes back the links found in earlier runs (catalog/families/saved.py) and places the
images that have none yet. From then on `place()` and `remove()` keep it current: placing
an image is a few index lookups and the comparisons they find, never a pass over the
catalog. Groups are the connected components of the links of one kind; a family, what
search collapses (search/collapse.py), is a component of both kinds together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog.families.hashindex import HashIndex
from catalog.families.rules import (
    KINDS,
    NEAR,
    NEAR_COARSE,
    RULES_VERSION,
    VARIANT,
    closeness,
    coarse_hashes,
    fine_hashes,
    fine_match,
    prompt_key,
    seed,
)
from catalog.families.saved import SavedGroups
from catalog.store.base import Store, StoredImage, point_id

log = logging.getLogger(__name__)
WINDOWS = 6  # hashes per image: the whole picture and five windows (catalog/fingerprint.py)
SYNC_BATCH = 256  # images looked up in the index at once by a first grouping (~60 MB of candidates)
Link = tuple[str, str, str]  # (id, id, kind)


@dataclass(frozen=True)
class Group:
    kind: str
    ids: list[str]  # sorted
    reviewed: bool


class Families:
    def __init__(self, store: Store, data_dir: str | Path) -> None:
        self.store = store
        self.saved = SavedGroups(data_dir)
        self._lock = threading.RLock()
        self._synced = threading.Event()
        self._syncing: threading.Thread | None = None
        self._reset()
        self._hidden = self.saved.hidden()
        self._hidden_ids = frozenset(point_id(sha) for sha in self._hidden)
        self._reviewed = {(point_id(sha), kind) for sha, kind in self.saved.reviewed()}

    def _reset(self) -> None:
        self._counter = 0
        self._number: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        # each image's hashes, packed: six 64-bit then six 256-bit (240 bytes; Python
        # ints of 256 bits would take twice that)
        self._hashes: dict[int, bytes] = {}
        self._prompt: dict[int, str] = {}
        self._seed: dict[int, str] = {}
        self._by_prompt: dict[str, set[int]] = {}
        self._whole = HashIndex()  # each image's whole-picture hash
        self._windows = HashIndex()  # its five windows' hashes, tagged 0-4
        self._links: dict[str, dict[int, set[int]]] = {kind: {} for kind in KINDS}
        self._components: dict[str, dict[int, list[int]]] | None = None

    def close(self) -> None:
        self.saved.close()

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- building and keeping current

    def sync(self) -> int:
        """Read the store, take back the saved links, place the images not placed yet and
        forget those that left; the number placed. Blocking (a pass over the store)."""
        with self._lock:
            self.saved.start(RULES_VERSION)
            self._reset()
            numbers = [self._register(pid, payload, index=False) for pid, payload in self.store.scroll()]
            coarse = [(n, self._coarse(n)) for n in numbers]
            self._whole.add_many((n, hashes[:1]) for n, hashes in coarse if hashes)
            self._windows.add_many((n, hashes[1:]) for n, hashes in coarse if hashes)
            placed = self.saved.placed()
            gone = placed - self._number.keys()
            if gone:
                self.saved.forget(gone)
            for a, b, kind in self.saved.links():
                if a in self._number and b in self._number:
                    self._add_link(self._number[a], self._number[b], kind)
            fresh = [pid for pid in self._number if pid not in placed]
            found = [
                link
                for start in range(0, len(fresh), SYNC_BATCH)
                for link in self._find([self._number[pid] for pid in fresh[start : start + SYNC_BATCH]])
            ]
            for a, b, kind in found:
                self._add_link(self._number[a], self._number[b], kind)
            self.saved.save_placed(fresh, found)
            self._synced.set()
        if fresh:
            log.info("grouped %d images into near-duplicates and variants", len(fresh))
        return len(fresh)

    def sync_in_background(self) -> None:
        """For a server that watches no folder: the first sync, off the request's thread."""
        with self._lock:
            if self._syncing is not None or self.synced:
                return
            self._syncing = threading.Thread(target=self._sync_logged, name="imgdesc-families", daemon=True)
            self._syncing.start()

    def _sync_logged(self) -> None:
        try:
            self.sync()
        except Exception:
            log.exception("grouping near-duplicates failed")

    def place(self, pid: str, payload: StoredImage) -> None:
        """An image was written: link it to its near-duplicates and variants. Before the
        first sync nothing is done (the sync reads it from the store)."""
        if not self.synced:
            return
        with self._lock:
            number = self._number.get(pid)
            if number is not None and self._hashes.get(number) == _packed(payload):
                return  # the same content written again (an edit, a re-embedding)
            self._forget(pid)
            number = self._register(pid, payload, index=True)
            found = self._find([number])
            for a, b, kind in found:
                self._add_link(self._number[a], self._number[b], kind)
            self.saved.save_placed([pid], found)

    def unhashed(self) -> list[str]:
        """The ids of stored images without a fingerprint (indexed before they were kept)."""
        with self._lock:
            return [pid for pid, number in self._number.items() if not self._hashes.get(number)]

    def remove(self, pid: str) -> None:
        if not self.synced:
            return
        with self._lock:
            self._forget(pid)
            self.saved.forget([pid])

    def _register(self, pid: str, payload: StoredImage, index: bool) -> int:
        number = self._number.get(pid)
        if number is None:
            number, self._counter = self._counter, self._counter + 1
            self._number[pid], self._ids[number] = number, pid
        self._hashes[number] = _packed(payload)
        key = prompt_key(payload)
        if key:
            self._prompt[number], self._seed[number] = key, seed(payload)
            self._by_prompt.setdefault(key, set()).add(number)
        hashes = self._coarse(number)
        if index and hashes:
            self._whole.add(number, hashes[:1])
            self._windows.add(number, hashes[1:])
        self._components = None
        return number

    def _forget(self, pid: str) -> None:
        number = self._number.pop(pid, None)
        if number is None:
            return
        del self._ids[number]
        self._hashes.pop(number, None)
        key = self._prompt.pop(number, "")
        self._seed.pop(number, None)
        if key:
            self._by_prompt.get(key, set()).discard(number)
        self._whole.remove(number)
        self._windows.remove(number)
        for links in self._links.values():
            for other in links.pop(number, set()):
                links.get(other, set()).discard(number)
        self._components = None

    def _add_link(self, a: int, b: int, kind: str) -> None:
        if a == b:
            return
        links = self._links[kind]
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
        self._components = None

    def _find(self, numbers: Sequence[int]) -> list[Link]:
        """The links of registered images to every other (the index holds them all)."""
        near = self._near(numbers)
        return [
            (self._ids[number], self._ids[other], kind)
            for number in numbers
            for kind, others in ((NEAR, near.get(number, set())), (VARIANT, self._variants(number)))
            for other in others
        ]

    def _near(self, numbers: Sequence[int]) -> dict[int, set[int]]:
        """Each image's near-duplicates: its whole picture against the others' whole pictures
        and windows, its windows against their whole pictures; the coarse hashes in one pass
        of the index for all `numbers`, each match then confirmed by the fine hashes."""
        hashed = [(n, self._coarse(n)) for n in numbers]
        hashed = [(n, h) for n, h in hashed if h]
        wholes = [h[0] for _, h in hashed]
        windows = [w for _, h in hashed for w in h[1:]]
        per = WINDOWS - 1
        # (asking image, other image, its window, the asking image's window)
        matches = [(q, o, 0, 0) for q, o, _, _ in self._whole.near_many(wholes, NEAR_COARSE)]
        matches += [(q, o, tag + 1, 0) for q, o, tag, _ in self._windows.near_many(wholes, NEAR_COARSE)]
        matches += [
            (q // per, o, 0, q % per + 1) for q, o, _, _ in self._whole.near_many(windows, NEAR_COARSE)
        ]
        found: dict[int, set[int]] = {}
        for asked, other, theirs, ours in matches:
            number = hashed[asked][0]
            if other != number and fine_match(self._fine(number), ours, self._fine(other), theirs):
                found.setdefault(number, set()).add(other)
        return found

    def _coarse(self, number: int) -> list[int]:
        packed = self._hashes.get(number, b"")
        return [int.from_bytes(packed[i : i + 8]) for i in range(0, min(len(packed), 8 * WINDOWS), 8)]

    def _fine(self, number: int) -> list[int]:
        packed = self._hashes.get(number, b"")[8 * WINDOWS :]
        return [int.from_bytes(packed[i : i + 32]) for i in range(0, len(packed), 32)]

    def _variants(self, number: int) -> set[int]:
        key = self._prompt.get(number)
        if not key:
            return set()
        others = [
            o
            for o in self._by_prompt.get(key, set())
            if o != number and self._seed.get(o) != self._seed[number]
        ]
        if not others:
            return set()
        mine = self.store.vectors(self._ids[number])
        return {o for o in others if closeness(mine, self.store.vectors(self._ids[o])) >= 1.0}

    # -- reading

    # The reads answer at once while the first sync runs (it holds the lock for its pass over
    # the store, a minute at 100,000 images): nothing is grouped yet, so a search or a page
    # never waits for it.

    def groups(self, kind: str | None = None) -> list[Group]:
        """Every group of two or more, of one kind or both; the biggest first."""
        if not self.synced:
            return []
        with self._lock:
            components = self._all_components()
            found = [
                Group(k, sorted(self._ids[n] for n in members), self._is_reviewed(k, members))
                for k in ((kind,) if kind else KINDS)
                for members in _distinct(components[k])
            ]
        return sorted(found, key=lambda g: (-len(g.ids), g.kind, g.ids[0]))

    def family(self, pid: str) -> list[str]:
        """The ids of the image's family (near-duplicates and variants, transitively), itself
        included; [pid] alone when it has none."""
        if not self.synced:
            return [pid]
        with self._lock:
            number = self._number.get(pid)
            if number is None:
                return [pid]
            members = self._all_components()["family"].get(number)
            return sorted(self._ids[n] for n in members) if members else [pid]

    def near_ids(self, pid: str) -> list[str]:
        """The image's near-duplicate group, without itself."""
        if not self.synced:
            return []
        with self._lock:
            number = self._number.get(pid)
            members = self._all_components()[NEAR].get(number) if number is not None else None
            return sorted(self._ids[n] for n in members if n != number) if members else []

    def _all_components(self) -> dict[str, dict[int, list[int]]]:
        if self._components is None:
            both: dict[int, set[int]] = {}
            for links in self._links.values():
                for a, others in links.items():
                    both.setdefault(a, set()).update(others)
            self._components = {kind: _components(self._links[kind]) for kind in KINDS}
            self._components["family"] = _components(both)
        return self._components

    def _is_reviewed(self, kind: str, members: Iterable[int]) -> bool:
        return all((self._ids[n], kind) in self._reviewed for n in members)

    # -- people's decisions

    def hidden_ids(self) -> frozenset[str]:
        """The point ids of the contents hidden from search."""
        return self._hidden_ids

    def set_hidden(self, records: Mapping[str, StoredImage], hidden: bool) -> None:
        shas = {record.sha256 for record in records.values()}
        with self._lock:
            self.saved.set_hidden(shas, hidden)
            self._hidden = self._hidden | shas if hidden else self._hidden - shas
            self._hidden_ids = frozenset(point_id(sha) for sha in self._hidden)

    def set_reviewed(self, records: Mapping[str, StoredImage], kind: str, reviewed: bool) -> None:
        shas = {record.sha256 for record in records.values()}
        with self._lock:
            self.saved.set_reviewed(shas, kind, reviewed)
            marks = {(point_id(sha), kind) for sha in shas}
            self._reviewed = self._reviewed | marks if reviewed else self._reviewed - marks


def _packed(payload: StoredImage) -> bytes:
    """The six 64-bit and six 256-bit hashes as bytes; b"" without a fingerprint (or a
    fingerprint of another shape, from another version)."""
    coarse, fine = coarse_hashes(payload), fine_hashes(payload)
    if len(coarse) != WINDOWS or len(fine) != WINDOWS:
        return b""
    return b"".join(h.to_bytes(8) for h in coarse) + b"".join(h.to_bytes(32) for h in fine)


def _components(links: Mapping[int, set[int]]) -> dict[int, list[int]]:
    """Each linked node → the sorted members of its connected component (one shared list)."""
    found: dict[int, list[int]] = {}
    for start in links:
        if start in found:
            continue
        members, todo = {start}, [start]
        while todo:
            for other in links.get(todo.pop(), ()):
                if other not in members:
                    members.add(other)
                    todo.append(other)
        component = sorted(members)
        for node in component:
            found[node] = component
    return {node: members for node, members in found.items() if len(members) > 1}


def _distinct(components: Mapping[int, list[int]]) -> list[list[int]]:
    seen: set[int] = set()
    out = []
    for members in components.values():
        if members[0] not in seen:
            seen.add(members[0])
            out.append(members)
    return out
