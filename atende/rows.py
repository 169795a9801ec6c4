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
import itertools
import json
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, models
from django.db.models import signals
from django.db.models.base import ModelState

try:
    from psycopg.adapt import Transformer
    from psycopg.pq import ExecStatus, TransactionStatus
    from psycopg.types.json import Jsonb as _JSONB

    IDLE, TUPLES_OK = TransactionStatus.IDLE, ExecStatus.TUPLES_OK
except ImportError:  # SQLite-only installs
    IDLE = TUPLES_OK = _JSONB = Transformer = None  # type: ignore[assignment,misc]


# --- prepared statements ------------------------------------------------------------------
#
# Planning, not executing, is most of what PostgreSQL spends on this path's statements: the
# publisher's ticket row (six joins) plans in ~0.5 ms and runs in ~0.04 ms (EXPLAIN
# ANALYZE, warm connection), and Django's client-side binding sends every statement as new
# text, parsed and planned anew. This module's statements have texts that do not depend on
# how many rows they carry (one array per column), so on PostgreSQL each is PREPAREd once
# per connection (SQL-level, in the same request as its first EXECUTE) and then sent as
# ``EXECUTE name(<literals>)``: still client-side binding, still several statements in
# one request, but planned once (``plan_cache_mode=force_generic_plan``, atende/settings.py).
# psycopg's own protocol-level preparing was measured too: twice this client CPU (one
# send per message in pipeline mode). ``DB_PREPARED_STATEMENTS=0`` turns this off (a
# transaction-pooling PgBouncer older than 1.21 cannot keep prepared statements).


class _Result:
    """One statement's rows (empty when it returned none) and row count."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None


# Per connection (the driver's object, so a new or pooled one starts empty): statement
# text -> the name it was prepared under.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_NAMES = itertools.count(1)
MAX_PREPARED = 200  # statements per connection


def prepared() -> bool:
    """Whether this module's statements are prepared on the current connection."""
    return connection.vendor == "postgresql" and bool(
        getattr(settings, "DB_PREPARED_STATEMENTS", True)
    )


def prepared_name(sql: str) -> str | None:
    """The name ``sql`` runs under on the current connection (``EXECUTE <name>(...)`` in
    the query log), None while it is not prepared there."""
    raw = connection.connection
    return _PREPARED.get(raw, {}).get(sql) if raw is not None else None


def in_ids(column: str, ids: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` among ``ids`` as a condition and its parameters: on PostgreSQL one
    array (a text for any number of ids, so it is prepared once), elsewhere ``IN``."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders as ``$1, $2...`` (``%%`` stays: the text is
    sent with parameters, through the driver's placeholder parsing)."""
    counter = itertools.count(1)
    return re.sub(r"%%|%s", lambda m: "%%" if m.group() == "%%" else f"${next(counter)}", sql)


def _execute(
    statements: Sequence[tuple[str, Sequence[Any]]], *, commit: bool = False
) -> list[_Result]:
    """Run ``statements`` in order, in ONE round trip on PostgreSQL, and give each one's
    result. Rows written behind are flushed first (not from inside this request, as the
    execute wrapper would). ``commit``: the request ends with the transaction's COMMIT
    (PostgreSQL only; see ``WriteBehind.commit_on_exit``)."""
    pending = _write_behind.get()
    if pending is not None and pending.pending and not pending.flushing:
        pending.flush()
    if connection.vendor != "postgresql":
        out = []
        with connection.cursor() as plain:
            for sql, params in statements:
                plain.execute(sql, params)
                rows = list(plain.fetchall()) if plain.description else []
                out.append(_Result(rows, plain.rowcount))
        return out
    # What connection.cursor() does first: a connection replaced after this would not
    # have the statements ``known`` says it has.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    tail: list[tuple[str, list[Any]]] = [("COMMIT", [])] if commit else []
    if not prepared():
        texts = [(sql, list(params)) for sql, params in statements]
        return _execute_texts(texts + tail, skip=0)[: len(texts)]
    known = _PREPARED.setdefault(connection.connection, {})
    prepares: list[tuple[str, list[Any]]] = []
    executes: list[tuple[str, list[Any]]] = []
    new: dict[str, str] = {}
    for sql, params in statements:
        name = known.get(sql) or new.get(sql)
        if name is None and len(known) + len(new) >= MAX_PREPARED:
            # A text that varies with its data would fill the connection: run it as is.
            executes.append((sql, list(params)))
            continue
        if name is None:
            # A fresh name each time: a PREPARE whose request failed may still exist.
            name = new[sql] = f"atende_{next(_NAMES)}"
            prepares.append((f"PREPARE {name} AS {_numbered(sql)}", []))
        args = f"({', '.join(['%s'] * len(params))})" if params else ""
        executes.append((f"EXECUTE {name}{args}", list(params)))
    results = _execute_texts(prepares + executes + tail, skip=len(prepares))
    known.update(new)
    return results[: len(executes)]


def _array_literal(values: list[Any]) -> str | list[Any]:
    """``values`` as the text of a PostgreSQL array (``{1,"a",NULL}``), which the
    statements cast (``%s::bigint[]``): the driver's list adaptation costs ~10 us per
    array in Python, and a batch sends dozens of one-element arrays. Values of other
    types (bytes...) keep the list, for the driver to adapt."""
    out = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif value is True or value is False:
            out.append("t" if value else "f")
        elif isinstance(value, int | float | Decimal | UUID):
            out.append(f'"{value}"')
        elif isinstance(value, str):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(value, datetime | date):
            out.append(f'"{value.isoformat()}"')
        elif _JSONB is not None and isinstance(value, _JSONB):
            text = (value.dumps or json.dumps)(value.obj)
            if not isinstance(text, str):  # a dumps giving bytes
                text = bytes(text).decode()
            out.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            return values
    return "{" + ",".join(out) + "}"


def _rows_of(cursor: Any) -> list[Any]:
    """The current result's rows; none for a command (its status, not ``description``,
    which builds a column object per column on each call)."""
    result = cursor.cursor.pgresult
    if result is None or result.status != TUPLES_OK:
        return []
    return list(cursor.fetchall())


# Per connection, psycopg's adapter of values to SQL literals (its client-side binding's).
_LITERALS: weakref.WeakKeyDictionary[Any, Callable[[Any], bytes]] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1024)
def _pieces(sql: str) -> tuple[bytes, ...]:
    """``sql`` cut at its ``%s`` placeholders, ``%%`` as ``%``: the template the driver's
    client-side binding makes of it, kept per text. The driver keeps its own only for
    texts under 4,096 bytes and 50 parameters; the requests here are several statements
    joined, nearly always over, so it parsed each one anew (~0.9 ms, a sixth of a new
    conversation's ingest, measured with cProfile)."""
    out = [b""]
    for piece in re.split(r"(%%|%s)", sql):
        if piece == "%s":
            out.append(b"")
        else:
            out[-1] += b"%" if piece == "%%" else piece.encode()
    return tuple(out)


def _bound(sql: str, params: list[Any], literal: Callable[[Any], bytes]) -> bytes:
    """``sql`` with its parameters as literals, as psycopg's ClientCursor binds them."""
    pieces = _pieces(sql)
    if len(pieces) != len(params) + 1:
        raise TypeError(f"the query has {len(pieces) - 1} placeholders, {len(params)} given")
    parts = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        parts.append(b"NULL" if value is None else literal(value))
        parts.append(piece)
    return b"".join(parts)


def _execute_texts(texts: list[tuple[str, list[Any]]], *, skip: int) -> list[_Result]:
    """Send ``texts`` in one request and give the results after the first ``skip``.

    One simple-protocol request when the transaction is open (or none is wanted);
    otherwise psycopg would first send the transaction's BEGIN in a round trip of its
    own, so the statements go one per message in pipeline mode, with the BEGIN. The
    parameters are bound here (``_bound``), so the driver sends the texts as they are."""
    raw = connection.connection
    literal = _LITERALS.get(raw)
    if literal is None:
        literal = _LITERALS[raw] = Transformer.from_context(raw).as_literal
    bound = [
        _bound(sql, [_array_literal(p) if type(p) is list else p for p in params], literal)
        for sql, params in texts
    ]
    with connection.cursor() as c:
        if raw.autocommit or raw.info.transaction_status != IDLE:
            c.execute(b"; ".join(bound).decode())
            out = []
            for index in range(len(texts)):
                if index:
                    c.nextset()
                if index >= skip:
                    out.append(_Result(_rows_of(c), c.rowcount))
            return out
    with ExitStack() as stack:
        cursors = [stack.enter_context(connection.cursor()) for _ in texts]
        with connection.wrap_database_errors, raw.pipeline():
            for each, text in zip(cursors, bound, strict=True):
                each.execute(text.decode())
        return [_Result(_rows_of(each), each.rowcount) for each in cursors[skip:]]


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


def instances(row: Any, models_: tuple[type[models.Model], ...]) -> tuple[models.Model | None, ...]:
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
        out.append(_loaded(model, attnames, values))
    return tuple(out)


def _loaded(model: type[models.Model], attnames: tuple[str, ...], values: list[Any]) -> Any:
    """``model.from_db`` for a row of all its concrete fields, without ``Model.__init__``
    (its per-field loop and signals were a tenth of the ingest worker's CPU: ~0.18 ms per
    instance, measured with cProfile): the same attributes and state. Models with
    ``pre_init``/``post_init`` receivers or their own ``from_db`` take the ORM's path."""
    if not _plain_load(model):
        return model.from_db(connection.alias, list(attnames), values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = connection.alias
    return instance


@functools.cache
def _plain_load(model: type[models.Model]) -> bool:
    return (
        model.from_db.__func__ is models.Model.from_db.__func__  # type: ignore[attr-defined]
        and model.__init__ is models.Model.__init__
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
    )


def fetch_one(
    sql: str, params: Any, *models_: type[models.Model]
) -> tuple[models.Model | None, ...] | None:
    """Run ``sql`` (selecting ``columns()`` of each model in turn) and build one instance
    per model from its first row; a model whose primary key is NULL (an outer join that
    found nothing) gives None. None when there is no row."""
    row = _execute([(sql, params)])[0].fetchone()
    if row is None:
        return None
    return instances(row, models_)


def fetch_all(
    sql: str, params: Any, *models_: type[models.Model]
) -> list[tuple[models.Model | None, ...]]:
    """``fetch_one`` for every row."""
    rows = _execute([(sql, params)])[0].rows
    return [instances(row, models_) for row in rows]


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
    defer: bool = False,
    numbered: tuple[str, str, Sequence[Any]] | None = None,
) -> Any:
    """INSERT ``instance`` (a new row, auto primary key) with one prepared statement and
    set its primary key: what ``save(force_insert=True)`` sends, without compiling it each
    time. Values go through the fields' own ``pre_save``/``get_db_prep_save`` (defaults,
    ``auto_now_add``, JSON adaptation). No model signals are sent (the project has none:
    STYLE.md rule 3). On PostgreSQL, in the same statement (one round trip): ``also``,
    other data-modifying statements ``(sql, params)`` run as CTEs (they must not touch
    the new row), and ``notify``, a ``NOTIFY`` on that channel (delivered at commit).
    Other databases use ``save()`` and refuse ``also``/``notify``.

    ``defer``: inside ``write_behind()``, the row gets its primary key now (from the
    table's sequence) and is written with the scope's next flush (see there).

    ``numbered=(field, sql, params)`` (PostgreSQL): the ``field`` column takes the one
    value that ``sql`` (a data-modifying statement with ``RETURNING`` one column, run as
    a CTE of the same statement) returns; that value is set on the instance and
    returned instead of the instance."""
    if numbered is not None:
        return _insert_numbered(instance, *numbered)
    pending = _write_behind.get() if defer else None
    if pending is not None and not (also or notify):
        pending.insert(instance)
        return instance
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
    row = _execute([(sql, params)])[0].fetchone()
    instance.pk = row[0] if row else None
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _insert_numbered(
    instance: models.Model, name: str, source: str, source_params: Sequence[Any]
) -> Any:
    if connection.vendor != "postgresql":
        raise ValueError("insert(numbered=) needs PostgreSQL")
    _, fields = _insert_plan(type(instance))
    meta = instance._meta
    names = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join("n.value" if f.attname == name else "%s" for f in fields)
    params: list[Any] = list(source_params)
    params += [
        f.get_db_prep_save(f.pre_save(instance, True), connection)
        for f in fields
        if f.attname != name
    ]
    sql = (
        f"WITH n (value) AS ({source}) "  # noqa: S608 - model columns
        f'INSERT INTO "{meta.db_table}" ({names}) SELECT {marks} FROM n '
        f'RETURNING "{meta.pk.column}", "{meta.get_field(name).column}"'  # type: ignore[union-attr]
    )
    row = _execute([(sql, params)])[0].fetchone()
    assert row is not None  # noqa: S101 - the CTE returns one row
    instance.pk = row[0]
    setattr(instance, name, row[1])
    instance._state.adding = False
    instance._state.db = connection.alias
    return row[1]


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
    return int(_execute([(sql, [*params, pk])])[0].rowcount)


def execute_together(
    statements: Sequence[tuple[str, Sequence[Any]]], *, commit: bool = False
) -> list[list[Any]]:
    """Run ``statements`` (each returning rows) and give each one's rows: on PostgreSQL in
    ONE round trip, prepared (``_execute``). Inside a transaction they run in it, in
    order; ``commit``: and the request commits it."""
    return [result.rows for result in _execute(statements, commit=commit)]


# --- write-behind: many rows in one statement --------------------------------------------


@functools.cache
def _unnest_insert(model: type[models.Model]) -> str:
    """INSERT of many rows of ``model`` (primary key included) from one array per column."""
    _, fields = _insert_plan(model)
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    columns_ = [(pk.column, pk.rel_db_type(connection))]
    columns_ += [(f.column, f.db_type(connection)) for f in fields]
    names = ", ".join(f'"{column}"' for column, _ in columns_)
    arrays = ", ".join(f"%s::{db_type}[]" for _, db_type in columns_)
    return f'INSERT INTO "{meta.db_table}" ({names}) SELECT * FROM unnest({arrays})'  # noqa: S608


@dataclass(frozen=True)
class Counter:
    """How deferred rows take consecutive numbers at the flush (``WriteBehind.
    insert_numbered``): the ``field`` attribute takes them per value of the ``by``
    attribute (a ticket's number per company). ``sql``, a data-modifying statement run as
    a CTE, takes two arrays, the keys and how many numbers each needs, adds those to the
    keys' counters and returns ``(key, last number taken)`` per key."""

    field: str
    by: str
    sql: str


@functools.cache
def _numbered_insert(model: type[models.Model], field: str, by: str, counter: str) -> str:
    """INSERT of many rows of ``model`` whose ``field`` column is the ``counter`` CTE's
    last number for the row's ``by`` value plus the row's offset (the last array)."""
    _, fields = _insert_plan(model)
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    columns_ = [(pk, pk.rel_db_type(connection))]
    columns_ += [(f, f.db_type(connection)) for f in fields if f.attname != field]
    names = [f'"{f.column}"' for f, _ in columns_]
    arrays = [f"%s::{db_type}[]" for _, db_type in columns_]
    aliases = [f"c{i}" for i in range(len(columns_))]
    key = aliases[[f.attname for f, _ in columns_].index(by)]
    numbered = meta.get_field(field)
    return (
        f'INSERT INTO "{meta.db_table}" ({", ".join(names)}, "{numbered.column}") '  # type: ignore[union-attr]  # noqa: S608
        f"SELECT {', '.join(f'u.{a}' for a in aliases)}, {counter}.last + u.off "
        f"FROM unnest({', '.join(arrays)}, %s::int[]) AS u ({', '.join(aliases)}, off) "
        f"JOIN {counter} ON {counter}.key = u.{key}"
    )


class WriteBehind:
    """Rows to INSERT and relative UPDATEs to run later, in ONE round trip, in the
    current transaction: what a batch of queued webhooks writes per message, sent once
    per run of messages instead of once per message.

    Transparent to every other statement: while anything is pending, the next statement
    sent on the connection (a read, a savepoint, an ORM update...) first flushes it, so
    nothing ever reads the database without the deferred rows. A deferred row gets its
    primary key at once, from its table's sequence (ids reserved in blocks); a numbered
    row (``insert_numbered``) gets its number at the flush. A flush sends two statements
    together: every INSERT (CTEs of one statement), then every update handed to
    ``later`` (CTEs of a second one), which therefore sees the rows just inserted. The
    sub-statements of one statement do not see each other's changes: two updates of one
    flush must not touch the same row. A failed flush fails the scope: its transaction
    must roll back (``write_behind`` raises at its end)."""

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[list[Any]]] = {}
        self.ids: dict[type[models.Model], list[int]] = {}
        self.updates: dict[Callable[[list[Any]], list[tuple[str, list[Any]]]], list[Any]] = {}
        self.numbered: dict[tuple[type[models.Model], Counter], list[tuple[Any, list[Any]]]] = {}
        self.flushing = False
        self.failed: BaseException | None = None
        self.statements = 0
        # Set by the caller when nothing follows the block in its transaction: the last
        # flush carries the COMMIT (one round trip less; see ``commit_on_exit``).
        self.commit_on_exit = False

    def reserve(self, model: type[models.Model], count: int) -> None:
        """Take ``count`` primary keys of ``model`` from its sequence (one statement)."""
        if count <= 0:
            return
        table = model._meta.db_table
        column = model._meta.pk.column  # type: ignore[union-attr]
        sql = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
        rows = _execute([(sql, [table, column, count])])[0].rows
        self.ids.setdefault(model, []).extend(int(row[0]) for row in rows)

    def add_ids(self, model: type[models.Model], ids: list[int]) -> None:
        """Primary keys of ``model`` taken from its sequence by the caller."""
        self.ids.setdefault(model, []).extend(ids)

    def insert(self, instance: models.Model) -> None:
        row = self._row(instance)  # first: taking ids may flush what is pending
        self.rows.setdefault(type(instance), []).append(row)

    def insert_numbered(self, instance: models.Model, counter: Counter) -> None:
        """Defer ``instance`` like ``insert``; its ``counter.field`` is set at the flush,
        which takes the numbers (and the counter's row lock) as late as possible."""
        row = self._row(instance, skip=counter.field)
        self.numbered.setdefault((type(instance), counter), []).append((instance, row))

    def _row(self, instance: models.Model, skip: str = "") -> list[Any]:
        model = type(instance)
        pool = self.ids.get(model)
        if not pool:
            self.reserve(model, 32)
            pool = self.ids[model]
        instance.pk = pool.pop(0)
        _, fields = _insert_plan(model)
        params = [instance.pk]
        params += [
            f.get_db_prep_save(f.pre_save(instance, True), connection)
            for f in fields
            if f.attname != skip
        ]
        instance._state.adding = False
        instance._state.db = connection.alias
        return params

    def later(self, builder: Callable[[list[Any]], list[tuple[str, list[Any]]]], item: Any) -> None:
        """Hand ``item`` to ``builder`` at the next flush; it turns all its items into
        data-modifying statements ``(sql, params)``, run as CTEs of the flush's second
        statement (after its INSERTs)."""
        self.updates.setdefault(builder, []).append(item)

    @property
    def pending(self) -> bool:
        return bool(self.rows or self.updates or self.numbered)

    def flush(self, *, commit: bool = False) -> None:
        if not self.pending or self.flushing:
            return
        inserts: list[str] = []
        params: list[Any] = []
        # per counter: the field it sets and each row's (instance, key, offset)
        numbered: list[tuple[str, list[tuple[Any, Any, int]]]] = []
        for index, ((model, counter), entries) in enumerate(self.numbered.items()):
            name = f"n{index}"
            keys: dict[Any, int] = {}
            placed: list[tuple[Any, Any, int]] = []
            for instance, _ in entries:
                key = getattr(instance, counter.by)
                keys[key] = keys.get(key, 0) + 1
                placed.append((instance, key, keys[key]))
            ordered = sorted(keys)  # a stable lock order between workers
            inserts.append(f"{name} (key, last) AS ({counter.sql})")
            params += [ordered, [keys[k] for k in ordered]]
            inserts.append(
                f"i{index} AS ({_numbered_insert(model, counter.field, counter.by, name)})"
            )
            params.extend(list(column) for column in zip(*(row for _, row in entries), strict=True))
            # A row's number is its key's last number minus the key's rows after it.
            offsets = [(instance, key, position - keys[key]) for instance, key, position in placed]
            params.append([offset for _, _, offset in offsets])
            numbered.append((counter.field, offsets))
        for index, (model, rows) in enumerate(self.rows.items()):
            # One array per column (unnest): the statement's text does not depend on the
            # number of rows, so the driver parses it once (psycopg caches short queries).
            inserts.append(f"w{index} AS ({_unnest_insert(model)})")
            params.extend(list(column) for column in zip(*rows, strict=True))
        updates: list[str] = []
        update_params: list[Any] = []
        for builder, items in self.updates.items():
            for sql, more in builder(items):
                updates.append(f"u{len(updates)} AS ({sql})")
                update_params.extend(more)
        counters = [f"SELECT {i}, key, last FROM n{i}" for i in range(len(numbered))]  # noqa: S608
        statements: list[tuple[str, list[Any]]] = []
        if inserts:
            last = " UNION ALL ".join(counters) if counters else "SELECT 1"
            statements.append((f"WITH {', '.join(inserts)} {last}", params))
        if updates:
            statements.append((f"WITH {', '.join(updates)} SELECT 1", update_params))
        self.rows.clear()
        self.updates.clear()
        self.numbered.clear()
        self.flushing = True
        try:
            results = execute_together(statements, commit=commit)
            self.statements += 1
        except BaseException as exc:
            self.failed = exc
            raise
        finally:
            self.flushing = False
        if numbered:
            last_numbers = {(int(i), key): int(value) for i, key, value in results[0]}
            for index, (field, placed) in enumerate(numbered):
                for instance, key, offset in placed:
                    setattr(instance, field, last_numbers[(index, key)] + offset)

    def _before(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.pending and not self.flushing:
            self.flush()
        return execute(sql, params, many, context)


_write_behind: ContextVar[WriteBehind | None] = ContextVar("atende_write_behind", default=None)


def _outermost_block() -> bool:
    """In ``transaction.atomic()``'s outermost block (no savepoint inside), with a healthy
    transaction: committing it in band leaves Django's own COMMIT at the block's end
    with nothing to do (psycopg sends none when no transaction is open)."""
    return (
        connection.in_atomic_block
        and len(connection.atomic_blocks) == 1
        and not connection.savepoint_ids
        and not connection.needs_rollback
        and connection.connection.info.transaction_status != IDLE
    )


def write_behind_active() -> WriteBehind | None:
    return _write_behind.get()


@contextmanager
def write_behind() -> Iterator[WriteBehind | None]:
    """Collect ``insert(..., defer=True)`` rows, numbered rows and ``later`` updates in
    this block and write them in one round trip before any other statement and at the
    end of the block (call inside a transaction). PostgreSQL only: elsewhere yields None
    and ``defer`` is ignored."""
    if connection.vendor != "postgresql":
        yield None
        return
    pending = WriteBehind()
    token = _write_behind.set(pending)
    try:
        with connection.execute_wrapper(pending._before):
            yield pending
            pending.flush(commit=pending.commit_on_exit and _outermost_block())
    finally:
        _write_behind.reset(token)
    if pending.failed is not None:
        # A flush failed inside a block that caught the error (a savepoint): the rows are
        # lost, so the whole transaction must not commit.
        raise IntegrityError(f"deferred rows were not written: {pending.failed}")
