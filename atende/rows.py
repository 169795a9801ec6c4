"""Model instances from one plain SQL statement, for the few lookups on the webhook path.

Building a ``select_related`` query costs ~1.5 ms of CPU in Django's compiler; the same
row read with a prepared column list and turned into instances with ``Model.from_db``
(the ORM's own constructor for loaded rows) costs a fraction of that. Used only where the
profile of ``bench/ingest.py`` shows it matters; everything else stays ORM.

    sql = f"SELECT {columns(Conversation, 'v')}, {columns(Contact, 'c')} FROM ..."
    conversation, contact = fetch_one(sql, params, Conversation, Contact)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


@functools.cache
def _fields(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return tuple(f.attname for f in fields), tuple(str(f.column) for f in fields)


@functools.cache
def _converters(model: type[models.Model], vendor: str) -> list[tuple[int, Any, list[Any]]]:
    """Per column, the conversions the ORM applies to loaded values (JSON text decoding,
    SQLite datetimes and booleans...), as its compiler would find them."""
    out = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if converters:
            out.append((index, col, converters))
    return out


def columns(model: type[models.Model], alias: str) -> str:
    """The model's concrete columns, qualified with ``alias``, in ``fetch_one``'s order."""
    return ", ".join(f'{alias}."{column}"' for column in _fields(model)[1])


def _instances(
    row: Any, models_: tuple[type[models.Model], ...]
) -> tuple[models.Model | None, ...]:
    out: list[models.Model | None] = []
    start = 0
    for model in models_:
        attnames, _ = _fields(model)
        values = list(row[start : start + len(attnames)])
        start += len(attnames)
        if values[0] is None:
            out.append(None)
            continue
        for index, col, converters in _converters(model, connection.vendor):
            value = values[index]
            for converter in converters:
                value = converter(value, col, connection)
            values[index] = value
        out.append(model.from_db(connection.alias, list(attnames), values))
    return tuple(out)


def fetch_one(
    sql: str, params: Any, *models_: type[models.Model]
) -> tuple[models.Model | None, ...] | None:
    """Run ``sql`` (selecting ``columns()`` of each model in turn) and build one instance
    per model from its first row; a model whose primary key is NULL (an outer join that
    found nothing) gives None. None when there is no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _instances(row, models_)


def fetch_all(
    sql: str, params: Any, *models_: type[models.Model]
) -> list[tuple[models.Model | None, ...]]:
    """``fetch_one`` for every row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_instances(row, models_) for row in rows]


def fetch[M: models.Model](
    sql: str, params: Any, model: type[M], **related: type[models.Model]
) -> M | None:
    """The first row as a ``model`` instance, with each ``related`` (attribute name ->
    model, selected after ``model``'s columns in that order) attached as ``select_related``
    would; None when there is no row.

        conversation = fetch(sql, [pk], Conversation, contact=Contact)
    """
    found = fetch_one(sql, params, model, *related.values())
    if found is None:
        return None
    instance, *others = found
    for name, other in zip(related, others, strict=True):
        setattr(instance, name, other)
    return instance  # type: ignore[return-value]


@functools.cache
def _insert_plan(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    names = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({marks}) RETURNING "{meta.pk.column}"'  # type: ignore[union-attr]  # noqa: S608
    return sql, fields


def insert(
    instance: models.Model,
    *,
    notify: str = "",
    also: Sequence[tuple[str, Sequence[Any]]] = (),
) -> models.Model:
    """INSERT ``instance`` (a new row, auto primary key) with one prepared statement and
    set its primary key: what ``save(force_insert=True)`` sends, without compiling it each
    time. Values go through the fields' own ``pre_save``/``get_db_prep_save`` (defaults,
    ``auto_now_add``, JSON adaptation). No model signals are sent (the project has none:
    STYLE.md rule 3). On PostgreSQL, in the same statement (one round trip): ``also``,
    other data-modifying statements ``(sql, params)`` run as CTEs (they must not touch
    the new row), and ``notify``, a ``NOTIFY`` on that channel (delivered at commit).
    Other databases use ``save()`` and refuse ``also``/``notify``."""
    if connection.vendor != "postgresql":
        if also or notify:
            raise ValueError("insert(also=, notify=) needs PostgreSQL")
        instance.save(force_insert=True)
        return instance
    sql, fields = _insert_plan(type(instance))
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    if also or notify:
        parts = [f"r AS ({sql})", *(f"a{i} AS ({other})" for i, (other, _) in enumerate(also))]
        for _, other_params in also:
            params.extend(other_params)
        wake = ", pg_notify(%s, '')" if notify else ""
        sql = f"WITH {', '.join(parts)} SELECT r.*{wake} FROM r"  # noqa: S608
        if notify:
            params.append(notify)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    instance.pk = row[0] if row else None
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def update(model: type[models.Model], pk: Any, values: dict[str, Any]) -> int:
    """``model.objects.filter(pk=pk).update(**values)`` for plain values, as one prepared
    UPDATE on PostgreSQL (values adapted by the fields' ``get_db_prep_save``)."""
    if connection.vendor != "postgresql":
        return int(model._default_manager.filter(pk=pk).update(**values))
    meta = model._meta
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)  # type: ignore[union-attr]
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.pk.column}" = %s'  # type: ignore[union-attr]  # noqa: S608
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk])
        return int(cursor.rowcount)
