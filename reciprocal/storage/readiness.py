"""Whether a database is ready for this engine, judged once for both ways in: the ORM's
`Database.check_ready` (writers) and the plain driver's `Reader` (read commands, which load no
ORM). Each reads the same two facts, the `meta` rows and the schema revision, and hands them here,
so that every refusal reads the same whichever path met it. Standard library only.
"""
from __future__ import annotations

from reciprocal.errors import DatabaseError
from reciprocal.storage.urls import _secrets

# meta.schema_version: 1 was the schema before migrations; 2 means "kept by the migrations in
# reciprocal/migrations", whose revision (in alembic_version) must then be SCHEMA_HEAD. An engine
# from before migrations refuses a version 2 database instead of misreading it.
SCHEMA_VERSION = 2
SCHEMA_HEAD = "0005_case_updates"


def short_reason(exc: BaseException, url: str) -> str:
    """The driver's first line, which names the failure (refused, unknown host...) but not the URL,
    with any credential of the URL scrubbed out."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    reason = (text[0] if text else type(exc).__name__)[:200]
    for secret in _secrets(url):
        reason = reason.replace(secret, "***")
    return reason


def does_not_exist(shown: str) -> DatabaseError:
    return DatabaseError(f"database {shown} does not exist; run `reciprocal init` first")


def cannot_connect(shown: str, reason: str) -> DatabaseError:
    return DatabaseError(f"cannot connect to database {shown} ({reason})")


def not_ours(shown: str, reason: str) -> DatabaseError:
    return DatabaseError(f"database {shown} is not a reciprocal database ({reason})")


def judge(shown: str, meta: dict[str, str], revision: str | None, scheme_id: str | None = None,
          check_revision: bool = True) -> None:
    """Refuse an uninitialised, foreign, older or newer database, from its meta rows and revision."""
    version = int(meta.get("schema_version", "0") or 0)
    if version == 0:
        raise DatabaseError(f"database {shown} is not initialised; run `reciprocal init` first")
    if scheme_id is not None and meta.get("scheme_id") not in (None, scheme_id):
        raise DatabaseError(f"database {shown} belongs to scheme '{meta.get('scheme_id')}', not '{scheme_id}'")
    if check_revision and revision != SCHEMA_HEAD:
        raise DatabaseError(revision_problem(shown, revision))


def revision_problem(shown: str, revision: str | None) -> str:
    if revision is None:
        return (f"database {shown} was made before schema migrations; run `reciprocal db "
                f"upgrade` (back it up first)")
    from reciprocal.storage import migrations  # Alembic: only to say which revision is unknown
    if revision in migrations.known_revisions():
        return (f"database {shown} is at schema revision {revision}; this engine needs "
                f"{SCHEMA_HEAD}: run `reciprocal db upgrade` (back it up first)")
    return (f"database {shown} is at schema revision {revision}, which this engine does "
            f"not know (a newer release made it?); use that release, or restore a backup")
