"""The accounts of one catalog: a name, a role, an API token and (for the pages) a
password, kept in `accounts.sqlite` in the data folder. The server and `imgdesc users`
open the same file; SQLite in WAL mode lets the CLI write it beside a running server,
which sees the change at its next request (the first account added turns auth on).

Secrets are kept only as hashes:

* passwords with scrypt (`hashlib.scrypt`, in the standard library: no new dependency),
  2^15 × 8 × 1 — 32 MiB and about 0.1 s a try — so a copy of the file costs an attacker
  that much per guess;
* API tokens with one SHA-256. A token is 256 random bits (`secrets`), so there is
  nothing to guess and no dictionary to slow down: a slow hash would only slow every
  request. A token is found by its hash (an index look-up), and the row's hash is then
  compared in constant time.

Both are compared with `hmac.compare_digest`. See docs/RESEARCH.md, "Accounts".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from catalog.sqlite_file import open_db, utc_now
from describe.errors import ImgdescError

TOKEN_PREFIX = "imgdesc_"  # lets secret scanners and people tell an imgdesc token at a glance
MIN_PASSWORD = 8  # NIST SP 800-63B's floor for a password a person chooses
MAX_PASSWORD = 1024
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# scrypt's cost: n = 2^15 and r = 8 take 128·n·r = 32 MiB, above OpenSSL's 32 MiB default cap
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, SCRYPT_MAXMEM = 15, 8, 1, 64 * 2**20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    token_hash TEXT UNIQUE,
    password_hash TEXT,
    sessions INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
)
"""
_COLUMNS = "name, role, token_hash IS NOT NULL, password_hash IS NOT NULL, sessions, created_at"


class Role(StrEnum):
    """What a route needs and what an account may do; each role can do all the ones
    before it. `public` is for routes anyone may use (health, log-in, static files)."""

    public = "public"
    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


ACCOUNT_ROLES = (Role.viewer, Role.editor, Role.admin)


class AccountError(ImgdescError):
    status_code = 400


class UnknownAccountError(ImgdescError):
    status_code = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"no account named {name!r}")


class AccountExistsError(ImgdescError):
    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"an account named {name!r} exists already")


class AccountsDamagedError(ImgdescError):
    status_code = 503

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"the accounts file {path} cannot be read ({' '.join(reason.split())[:200]}); restore it "
            "from a backup, or move it aside and add the accounts again (imgdesc users add)",
            {"path": str(path)},
        )


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    has_token: bool
    has_password: bool
    sessions: int  # bumped when the password changes: page sessions from before end
    created_at: str


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountError(
            f"account name {name[:70]!r}: use 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    if role not in {r.value for r in ACCOUNT_ROLES}:
        raise AccountError(f"role {role[:40]!r}: use viewer, editor or admin")
    return Role(role)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_LOG_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """The parameters are read from the stored hash, so a stronger setting later still
    checks the passwords set before it."""
    try:
        kind, log_n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        found = _scrypt(password[:MAX_PASSWORD], base64.b64decode(salt), int(log_n), int(r), int(p))
        return hmac.compare_digest(found, base64.b64decode(key))
    except ValueError:
        return False


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    secret = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(secret, salt=salt, n=2**log_n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32)


@cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so a wrong name costs the same time as
    a wrong password (made on first use: an import costs no scrypt)."""
    return hash_password(secrets.token_urlsafe(16))


class AccountStore:
    """accounts.sqlite, opened when first needed: the file is created by the first
    account added, never by a read, so a server or a CLI that only asks "is auth on?"
    leaves the data folder as it was. One connection shared by threads, behind a lock."""

    FILENAME = "accounts.sqlite"

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / self.FILENAME
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """Under the lock. None while there is no file and `create` is false."""
        if self._db is not None:
            return self._db
        if not create and not self.path.is_file():
            return None
        fresh = not self.path.exists()
        # FULL: rare writes that must not be lost
        db = open_db(
            self.path, _SCHEMA, lambda reason: AccountsDamagedError(self.path, reason), synchronous="FULL"
        )
        if fresh:
            self.path.chmod(0o600)  # hashes only, but nobody else's business
        self._db = db
        return db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return []
            try:
                return list(db.execute(sql, args).fetchall())
            except sqlite3.DatabaseError as exc:
                raise AccountsDamagedError(self.path, str(exc)) from None

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        """The number of rows changed."""
        with self._lock:
            db = self._connect(create=True)
            assert db is not None
            try:
                return db.execute(sql, args).rowcount
            except sqlite3.IntegrityError:
                raise  # the caller says what it means (a name taken)
            except sqlite3.DatabaseError as exc:
                raise AccountsDamagedError(self.path, str(exc)) from None

    # --- reads -----------------------------------------------------------------------

    def any(self) -> bool:
        """Whether auth is on: at least one account exists."""
        rows = self._rows("SELECT EXISTS (SELECT 1 FROM accounts)")
        return bool(rows and rows[0][0])

    def list(self) -> list[Account]:
        return [_account(r) for r in self._rows(f"SELECT {_COLUMNS} FROM accounts ORDER BY name")]

    def get(self, name: str) -> Account | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", (name,))
        return _account(rows[0]) if rows else None

    def by_token(self, token: str) -> Account | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        wanted = token_hash(token)
        rows = self._rows(f"SELECT {_COLUMNS}, token_hash FROM accounts WHERE token_hash = ?", (wanted,))
        if not rows or not hmac.compare_digest(str(rows[0][-1]), wanted):
            return None
        return _account(rows[0][:-1])

    def check_password(self, name: str, password: str) -> Account | None:
        """The account when the password is its own. Slow on purpose (scrypt): call it off
        the event loop. An unknown name, or one without a password, takes as long."""
        rows = self._rows(f"SELECT {_COLUMNS}, password_hash FROM accounts WHERE name = ?", (name,))
        stored = str(rows[0][-1]) if rows and rows[0][-1] is not None else None
        good = verify_password(password, stored or _dummy_hash())
        return _account(rows[0][:-1]) if good and stored is not None else None

    # --- writes ----------------------------------------------------------------------

    def add(self, name: str, role: str) -> str:
        """A new account; returns its API token, which is kept only as a hash."""
        check_name(name)
        token = new_token()
        try:
            self._write(
                "INSERT INTO accounts (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, check_role(role).value, token_hash(token), utc_now()),
            )
        except sqlite3.IntegrityError:
            raise AccountExistsError(name) from None
        return token

    def remove(self, name: str) -> None:
        if not self._write("DELETE FROM accounts WHERE name = ?", (name,)):
            raise UnknownAccountError(name)

    def new_token(self, name: str) -> str:
        """A new API token for the account; the old one stops working at once."""
        token = new_token()
        if not self._write("UPDATE accounts SET token_hash = ? WHERE name = ?", (token_hash(token), name)):
            raise UnknownAccountError(name)
        return token

    def set_password(self, name: str, password: str) -> None:
        """Sets the password for the log-in page; sessions logged in before end. Slow
        (scrypt): call it off the event loop."""
        if self.get(name) is None:  # before the slow hash
            raise UnknownAccountError(name)
        hashed = hash_password(password)
        changed = self._write(
            "UPDATE accounts SET password_hash = ?, sessions = sessions + 1 WHERE name = ?", (hashed, name)
        )
        if not changed:
            raise UnknownAccountError(name)


def _account(row: tuple[object, ...]) -> Account:
    name, role, has_token, has_password, sessions, created_at = row
    return Account(
        str(name), Role(str(role)), bool(has_token), bool(has_password), int(str(sessions)), str(created_at)
    )
