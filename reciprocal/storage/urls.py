"""Database URLs: which database `--db` names, and a URL checked and shown without its secrets.
Nothing here loads the ORM (a URL is checked before any table is defined)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from reciprocal.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DEFAULT_DB = "reciprocal.db"


def resolve_url(db: str | None) -> str:
    """`--db`, else `$RECIPROCAL_DATABASE_URL`, else ./reciprocal.db. A plain path means SQLite."""
    value = db or os.environ.get("RECIPROCAL_DATABASE_URL") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser()}"


# Query parameters whose values are credentials, wherever they sit in a URL.
SECRET_PARAMS = ("password", "passwd", "pwd", "pass", "sslpassword", "secret", "token", "apikey",
                 "api_key", "key", "sslkey")
_SECRET_QUERY = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#]*", re.IGNORECASE)
URL_SHAPE = "postgresql+psycopg://user:password@host:5432/database, or a file path for SQLite"


def _netloc(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, rest) of a URL, read as text (it may be malformed)."""
    scheme, _, after = url.partition("://")
    cut = min([k for k in (after.find("/"), after.find("?")) if k >= 0], default=len(after))
    return scheme, after[:cut], after[cut:]


def safe_url(url: str) -> str:
    """A database URL as it may be shown: no password, wherever it sits (in the user part, even
    with an unescaped `@`, or as a query parameter). Works on malformed URLs too: it is what every
    message about a database shows."""
    if "://" not in url:
        return url  # a file path: nothing secret in it
    scheme, netloc, rest = _netloc(url)
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon and "@" not in user else f"***@{host}" if colon or "@" in user \
            else f"{user}@{host}"
    return f"{scheme}://{netloc}{_SECRET_QUERY.sub(lambda m: m.group(1) + '***', rest)}"


def _secrets(url: str) -> list[str]:
    """The credential strings of a URL, longest first (to scrub from a driver's message)."""
    if "://" not in url:
        return []
    _, netloc, rest = _netloc(url)
    userinfo = netloc.rpartition("@")[0]
    found = [userinfo.partition(":")[2]] + [m.group(0).split("=", 1)[1] for m in _SECRET_QUERY.finditer(rest)]
    found += [part for secret in found for part in secret.split("@")]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def check_url(url: str) -> URL:
    """The parsed URL, or a DatabaseError saying plainly what is wrong with it (never its
    password)."""
    shown = safe_url(url)
    if "://" in url and _netloc(url)[1].count("@") > 1:
        raise DatabaseError(f"database URL {shown}: the user name or password holds '@'; write it "
                            f"percent-encoded (%40), as in {URL_SHAPE}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"'{shown}' is not a database URL or path ({URL_SHAPE})") from None
    except ValueError:
        raise DatabaseError(f"database URL {shown}: the port must be a number ({URL_SHAPE})") from None
    if parsed.get_backend_name() == "postgres":
        raise DatabaseError(f"database URL {shown}: 'postgres://' is an old spelling; write "
                            f"postgresql+psycopg:// (or postgresql://)")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"database URL {shown}: '{parsed.get_backend_name()}' is not a database this "
                            f"engine uses (SQLite or PostgreSQL: {URL_SHAPE})")
    return parsed
