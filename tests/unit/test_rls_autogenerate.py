"""`crm make-migration` writes the row-level-security call for a new group-owned table by itself."""
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from sqlalchemy import String, create_engine
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import id_column, make_base
from shared.migrations import protect_new_tables
from shared.tenancy import Scoped, StoreScoped


def test_a_new_group_or_store_owned_table_is_protected_in_its_revision():
    Base = make_base()

    class Note(Scoped, Base):
        __tablename__ = "notes"
        id: Mapped[str] = id_column()

    class Visit(StoreScoped, Base):
        __tablename__ = "store_visits"
        id: Mapped[str] = id_column()

    class Lookup(Base):  # not group-owned: no policy
        __tablename__ = "lookups"
        id: Mapped[str] = mapped_column(String(10), primary_key=True)

    with create_engine("sqlite://").connect() as conn:
        mc = MigrationContext.configure(conn, opts={"target_metadata": Base.metadata})
        script = produce_migrations(mc, Base.metadata)
        protect_new_tables(mc, None, [script])
    code = render_python_code(script.upgrade_ops)
    assert "protect(op, group=['notes'], store=['store_visits'])" in code
    assert code.index("create_table('store_visits'") < code.index("protect(op")
