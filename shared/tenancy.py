"""Tenant scoping, enforced in one place: every ORM query and every new row goes through here.

A session carries a `Scope` (group, stores, user, role). Reads of any `Scoped` model are filtered
by `scope_criteria`; new rows are stamped with the group and refused outside the caller's stores.
A session without a scope cannot read or write scoped rows at all, so a handler cannot forget it.
On PostgreSQL the database enforces the same rule underneath, from settings each transaction takes
from the session's scope (`shared.rls`: forced row-level security on every `Scoped` table).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import ClassVar, cast

from sqlalchemy import String, and_, event, false, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from sqlalchemy.sql import visitors
from sqlalchemy.sql.annotation import SupportsAnnotations
from sqlalchemy.sql.expression import ColumnClause, TableClause

from shared import rls

log = logging.getLogger(__name__)
HQ_ROLES = frozenset({"group_admin", "hq_analyst", "cc_supervisor", "cc_agent"})
ROLES = HQ_ROLES | {"store_manager", "sales_consultant"}
#: the group of no row: a scope of it sees no tenant's rows (a caller who is not signed in, whose group is unknown)
NO_GROUP = ""


class ScopeViolation(Exception):
    """A write outside the caller's tenant scope; callers answer it as 404."""


@dataclass(frozen=True)
class Scope:
    group_id: str | None
    store_ids: frozenset[str] | None = None  # None: every store of the group
    user_id: str | None = None
    role: str = "system"
    widened_for: str | None = None  # set inside `widened`: the reviewed reason of a wider read

    @classmethod
    def system(cls, group_id: str | None = None) -> Scope:
        """The scope of consumers and commands: one group, or (None) every group for operators."""
        return cls(group_id=group_id, role="system")

    @property
    def all_groups(self) -> bool:
        return self.group_id is None and self.role == "system"

    @property
    def all_stores(self) -> bool:
        return self.store_ids is None

    @property
    def personal(self) -> bool:
        """A consultant reads only their own records (leads, reports), except in a reviewed wider read."""
        return self.role == "sales_consultant" and self.widened_for is None

    def sees_store(self, store_id: str | None) -> bool:
        return self.store_ids is None or store_id in self.store_ids


class Scoped:
    """Mixin for rows that belong to a group.

    `group_id_index = False` on a model leaves out the single-column index on `group_id`: tables
    looked up by another key (or by an index that leads with `group_id`) only pay for it on every
    insert, and while statistics are stale the planner may pick it over the selective index.
    """

    group_id_index: ClassVar[bool] = True
    owned_by: ClassVar[str] = "group"  # what the row-level-security policy checks (`shared.rls`)

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)  # the declarative base maps the class and makes its table
        table = cls.__dict__.get("__table__")
        if table is not None:
            table.info["owned_by"] = cls.owned_by  # so that migrations and docs find it in the metadata

    @declared_attr
    def group_id(cls) -> Mapped[str]:
        return mapped_column(String(36), index=cls.group_id_index, nullable=False)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.all_groups:
            return true()
        if scope.group_id is None:
            return false()
        return cls.group_id == scope.group_id

    @classmethod
    def check_new(cls, obj, scope: Scope) -> None:
        if scope.all_groups:
            return
        if obj.group_id is None:
            obj.group_id = scope.group_id
        if obj.group_id != scope.group_id:
            raise ScopeViolation(f"{cls.__name__} belongs to another group")


class StoreScoped(Scoped):
    """Mixin for rows that a store owns: a store user sees only their stores."""

    owned_by: ClassVar[str] = "store"

    @declared_attr
    def store_id(cls) -> Mapped[str]:
        return mapped_column(String(36), index=True, nullable=False)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            if len(scope.store_ids) == 1:  # most store users: no list to expand into the SQL on every execution
                (only,) = scope.store_ids
                crit = and_(crit, cls.store_id == only)
            else:
                crit = and_(crit, cls.store_id.in_(sorted(scope.store_ids)))
        return crit

    @classmethod
    def check_new(cls, obj, scope: Scope) -> None:
        super().check_new(obj, scope)
        if not scope.sees_store(obj.store_id):
            raise ScopeViolation(f"{cls.__name__} belongs to a store outside the caller's scope")


def install_scoping(factory, models: list[type]) -> None:
    """Attach the read filter, the write check and the database's row-security settings to one
    service's session factory."""
    rls.install(factory)
    scoped_models = [m for m in models if isinstance(m, type) and issubclass(m, Scoped)]
    by_table = _models_by_table(scoped_models)

    @event.listens_for(factory, "do_orm_execute")
    def _filter(state: ORMExecuteState) -> None:
        if state.is_column_load or state.is_relationship_load:
            return  # the criteria added to the parent statement propagate to these loads
        if not (state.is_select or state.is_update or state.is_delete):
            return
        scope: Scope | None = state.session.info.get("scope")
        if scope is None:
            raise ScopeViolation("session has no tenant scope")
        if scope.all_groups:
            return
        read = _read_by(state.statement)
        if read:
            state.statement = state.statement.options(*_options_for(scope, read))

    named: dict[tuple, frozenset[type]] = {}  # a statement's shape (its cache key) -> the scoped models it names

    def _read_by(statement) -> frozenset[type]:
        """`_scoped_models_in`, once per shape of statement: statements of one cache key differ only in
        their parameters' values (SQLAlchemy compiles them once for that reason), so they name the same
        tables. The key costs about half the walk (the API list's statement of 30 columns: 40 µs against
        80). A statement that has no key (not cacheable) is walked every time."""
        key = statement._generate_cache_key()
        if key is None:
            return _scoped_models_in(statement, by_table)
        found = named.get(key.key)
        if found is None:
            if len(named) >= 4096:  # shapes are few (the code's queries); a bound all the same
                named.clear()
            found = named[key.key] = _scoped_models_in(statement, by_table)
        return found

    @lru_cache(maxsize=4096)
    def _options_for(scope: Scope, read: frozenset[type]) -> tuple:
        """The loader criteria of one scope for the scoped models a statement reads, built once
        (scopes are immutable and few)."""
        return tuple(with_loader_criteria(m, m.scope_criteria(scope), include_aliases=True)
                     for m in scoped_models if m in read)

    @event.listens_for(factory, "before_flush")
    def _check(session: Session, _ctx, _instances) -> None:
        check_rows(session, list(session.new) + list(session.dirty))


def _models_by_table(scoped_models: list[type]) -> dict[str, frozenset[type]]:
    """Each table a scoped model is mapped to -> the scoped models whose criteria a statement that
    names it needs: the model, its mapped sub- and superclasses, and every scoped model reachable from
    it by relationships (joins along them, eager loads and the lazy loads that inherit the criteria)."""
    reach: dict[type, set[type]] = {}
    scoped = set(scoped_models)
    for m in scoped_models:
        seen: set[Mapper] = set()
        todo: list[Mapper] = [sa_inspect(m)]
        while todo:
            mapper = todo.pop()
            if mapper in seen:
                continue
            seen.add(mapper)
            todo.extend(mapper.iterate_to_root())
            todo.extend(mapper.self_and_descendants)
            todo.extend(rel.mapper for rel in mapper.relationships)
        reach[m] = {mp.class_ for mp in seen} & scoped
    # a model's own criteria may read another scoped model (customers: a store sees a customer through
    # a relationship row): a statement that names the model gets that model's criteria too, as when
    # every statement carried every model's criteria
    own: dict[str, frozenset[type]] = {}
    for m in scoped_models:
        m_mapper: Mapper = sa_inspect(m)
        own.update((t.fullname, frozenset({m})) for t in m_mapper.tables)
    sample = Scope(group_id="sample", store_ids=frozenset({"sample"}), user_id="sample", role="store_manager")
    named = {m: _scoped_models_in(cast("type[Scoped]", m).scope_criteria(sample), own) for m in scoped_models}
    changed = True
    while changed:  # to a fixed point: criteria that read models whose criteria read others
        changed = False
        for m in scoped_models:
            more = set().union(*(reach[n] | named[n] for n in reach[m] | named[m])) - reach[m]
            if more:
                reach[m] |= more
                changed = True
    out: dict[str, set[type]] = {}
    for m in scoped_models:
        m_mapper = sa_inspect(m)
        for table in m_mapper.tables:  # by name: a statement names a table by an annotated copy of it
            out.setdefault(table.fullname, set()).update(reach[m])
    return {t: frozenset(ms) for t, ms in out.items()}


def _scoped_models_in(statement, by_table: dict[str, frozenset[type]]) -> frozenset[type]:
    """The scoped models whose tables a statement names anywhere: its entities and columns, joins,
    subqueries, WHERE, ORDER BY, the target of an UPDATE or DELETE. The loader criteria apply to an
    entity wherever it appears in the statement, so these are all it can read."""
    found: set[type] = set()
    for el in visitors.iterate(statement, {"column_collections": False}):
        table: object = el if isinstance(el, TableClause) else el.table if isinstance(el, ColumnClause) else None
        if isinstance(table, TableClause):
            found.update(by_table.get(table.fullname, ()))
        mapper = el._annotations.get("parentmapper") if isinstance(el, SupportsAnnotations) else None
        if mapper is not None:
            for t in mapper.tables:
                found.update(by_table.get(t.fullname, ()))
    return frozenset(found)


def check_rows(session: Session, objs) -> None:
    """The write rule: rows are stamped with the session's group and refused outside its scope (the
    caller's own scope, also inside a `widened` read)."""
    scope: Scope | None = session.info.get(WRITE_SCOPE) or session.info.get("scope")
    for obj in objs:
        model = getattr(obj, "row_model", None) or type(obj)  # `shared.db.NewRow`: a row given by its values
        if issubclass(model, Scoped):
            if scope is None:
                raise ScopeViolation("session has no tenant scope")
            model.check_new(obj, scope)


# ---- reading beyond the caller's stores, by name ----------------------------------------------------

WRITE_SCOPE = "write_scope"  # session.info key: the caller's own scope while reads are widened

#: Every reason a request may read beyond the caller's own stores. Each is reviewed: what it reads,
#: and what of it may reach the caller. `tests/unit/test_widening.py` lists the places that widen, so
#: a new one fails until it is reviewed here and there.
WIDENINGS: dict[str, str] = {
    "match_customer": "customers: find the person or car a store's record is about across the group (phone, "
                      "ID number, VIN, policy number) to record it, hold it for review or refuse a number "
                      "another record holds; nothing found is returned: the caller then sees only what its "
                      "own relationship allows, and a match the caller could not see is access-logged",
    "store_open_lead": "leads: a visitor's phone joins the store's open lead even when a colleague owns it; "
                       "the caller learns only that it is someone else's lead",
    "group_average_per_store": "analytics: a store manager's dashboard and monthly report show the group's KPIs "
                               "per store beside their own; only those averages (group totals over the number "
                               "of active stores, rates as the group's) leave the read, never a store's own "
                               "figures, names or ids",
}


@contextmanager
def widened(session: Session, why: str, stores: frozenset[str] | None = None) -> Iterator[Scope]:
    """Read across the caller's whole group (or `stores` of it) for one reviewed reason of `WIDENINGS`.

    Writes stay checked against the caller's own scope, and the widening is logged with its reason.
    """
    if why not in WIDENINGS:
        raise ValueError(f"unreviewed widening {why!r}: add it to shared.tenancy.WIDENINGS with what it may show")
    own: Scope = session.info["scope"]
    wide = replace(own, store_ids=stores, widened_for=why)
    log.info("widened read (%s) for %s %s in group %s", why, own.role, own.user_id, own.group_id)
    session.info[WRITE_SCOPE], session.info["scope"] = session.info.get(WRITE_SCOPE) or own, wide
    rls.resync(session)
    try:
        yield wide
    except BaseException:
        _narrow(session, own)
        try:
            rls.resync(session)
        except SQLAlchemyError:  # the transaction failed: it can only be rolled back, settings and all
            pass
        raise
    _narrow(session, own)
    rls.resync(session)


def _narrow(session: Session, own: Scope) -> None:
    session.info["scope"] = own
    if session.info.get(WRITE_SCOPE) is own:
        session.info.pop(WRITE_SCOPE)
