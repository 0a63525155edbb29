"""The baseline of `bench/pipeline.py`: a bare Flask app that inserts one row with SQLAlchemy Core.

No authentication, no tenancy, no schemas, no events: what a request costs on this machine under the
same gunicorn settings as the platform's APIs (`gunicorn -w 2`, sync workers), on the same PostgreSQL.

    BARE_DATABASE_URL=postgresql+psycopg://... gunicorn -w 2 -b 127.0.0.1:9810 'bench.bare_app:create_app()'
"""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, insert, select

metadata = MetaData()
leads = Table(
    "bare_leads", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("source", String(40), nullable=False),
    Column("model", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)


def create_table(url: str) -> None:
    """Before gunicorn starts (two workers creating it at once would race)."""
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def create_app() -> Flask:
    engine = create_engine(os.environ["BARE_DATABASE_URL"], pool_pre_ping=True)  # its table: `create_table`
    app = Flask(__name__)

    @app.post("/leads/api/v1/leads")
    def create():
        body = request.get_json()
        row = {"id": str(uuid.uuid4()), "name": body["name"], "phone": body["phone"], "source": body["source"],
               "model": body["model"], "created_at": datetime.now(UTC)}
        with engine.begin() as conn:
            conn.execute(insert(leads).values(**row))
        return jsonify({**row, "created_at": row["created_at"].isoformat()}), 201

    @app.get("/leads/api/v1/leads")
    def page():
        per_page = min(int(request.args.get("per_page", 50)), 100)
        with engine.connect() as conn:
            rows = conn.execute(select(leads).order_by(leads.c.created_at.desc()).limit(per_page)).mappings().all()
        return jsonify([{**r, "created_at": r["created_at"].isoformat()} for r in rows])

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
