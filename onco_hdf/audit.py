"""Reads of centre data are recorded: one helper, called from the views that show or hand
out survey responses, submissions, habilitation sheets, exports and report files."""

from __future__ import annotations

from django.db import connections

from onco_hdf.models import ReadAction, ReadAudit

__all__ = [
    "ReadAction",
    "audit_read",
    "grant_app_role",
    "protect_history_tables",
    "secure_database",
]


def audit_read(
    *,
    user,
    obj=None,
    object_type: str = "",
    action: str = ReadAction.VIEW,
    centre=None,
    detail: str = "",
) -> ReadAudit:
    """Record that ``user`` read (or exported, downloaded) ``obj``.

    Without an object (a matrix over many sheets), ``object_type`` names what was read.
    The centre is ``centre`` if given, else the object's own ``centre`` (None for regional
    data such as a whole-campaign export). The time is stored in UTC.
    """
    if centre is None:
        centre = getattr(obj, "centre", None)
    return ReadAudit.objects.create(
        actor_id=user.pk if user.is_authenticated else None,
        actor=user.get_username() if user.is_authenticated else "",
        centre_id=getattr(centre, "pk", None),
        centre=str(centre)[:200] if centre is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else object_type,
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail[:200],
    )


# PostgreSQL: history rows (simple_history's tables and the read audit) are append-only for
# the application's role. One exception: deleting an account sets history_user_id to NULL
# (Django's SET_NULL), and only that column may change then.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION onco_hdf_history_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) - 'history_user_id') = (to_jsonb(OLD) - 'history_user_id')
       AND (to_jsonb(NEW) ->> 'history_user_id') IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history rows of % cannot be changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _trigger_sql(conn, table: str) -> str:
    return (
        "CREATE OR REPLACE TRIGGER onco_hdf_append_only BEFORE UPDATE OR DELETE ON "
        f"{conn.ops.quote_name(table)} "
        "FOR EACH ROW EXECUTE FUNCTION onco_hdf_history_append_only()"
    )


def history_tables() -> list[str]:
    from django.apps import apps

    tables = [ReadAudit._meta.db_table]
    for model in apps.get_models():
        if model.__name__.startswith("Historical") and hasattr(model, "history_id"):
            tables.append(model._meta.db_table)
    return tables


def protect_history_tables(using: str = "default", **_kwargs) -> None:
    """Install the append-only trigger on every history table (idempotent; PostgreSQL only).

    Run by migration 0008 and after every ``migrate`` (post_migrate), so that the history
    table of a model that gains one later is protected too.
    """
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    existing = set(conn.introspection.table_names())
    with conn.cursor() as cursor:
        cursor.execute(APPEND_ONLY_FUNCTION)
        for table in history_tables():
            if table in existing:
                cursor.execute(_trigger_sql(conn, table))


# The web and worker processes connect with a role that owns nothing: it may read and write
# rows, never TRUNCATE, alter or drop a table, its triggers or the trigger's function, so the
# append-only rule above holds against it. Migrations run as the owner, which grants these.
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_PRIVILEGES = "USAGE, SELECT"


def grant_app_role(role: str, using: str = "default") -> None:
    """Give ``role`` row access to every table of the schema, now and for later tables.

    Run by the owner (the role ``migrate`` connects with); the default privileges cover the
    tables and sequences its later migrations create. PostgreSQL only.
    """
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    grantee = conn.ops.quote_name(role)
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = conn.ops.quote_name(cursor.fetchone()[0])
        for statement in (
            f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
            f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
            f"GRANT {APP_SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT {APP_SEQUENCE_PRIVILEGES} ON SEQUENCES TO {grantee}",
        ):
            cursor.execute(statement)


def secure_database(using: str = "default", **_kwargs) -> None:
    """After every ``migrate``: protect the history tables, grant the app role
    (``DATABASE_APP_ROLE``) its row access."""
    from django.conf import settings

    protect_history_tables(using=using)
    if settings.DATABASE_APP_ROLE:
        grant_app_role(settings.DATABASE_APP_ROLE, using=using)
