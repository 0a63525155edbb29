"""KPI definitions are written once (issue 13): every KPI has one, docs/kpis.md is that table, and
the hover text comes from it."""
from __future__ import annotations

from pathlib import Path

from services.analytics.domain import definitions as D
from services.analytics.domain.kpis import KPIS

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"


def test_every_kpi_has_exactly_one_definition():
    assert [k.key for k in KPIS] == [d.key for d in D.DEFINITIONS]
    assert all(d.name_zh and d.name_en and d.formula and d.formula_zh and d.numerator for d in D.DEFINITIONS)


def test_every_rate_says_whether_it_may_exceed_100_percent():
    rates = {k.key for k in KPIS if k.unit == "pct"}
    assert rates and all(D.BY_KEY[k].bound and D.BY_KEY[k].denominator for k in rates)
    assert {d.key for d in D.DEFINITIONS if d.bound_zh} == rates  # and in Chinese, for the rates only


def test_docs_kpis_md_is_the_table_in_code():
    assert D.markdown() in DOC.read_text(encoding="utf-8"), "regenerate docs/kpis.md from definitions.markdown()"
    assert f"Definitions version **{D.VERSION}**" in DOC.read_text(encoding="utf-8")


def test_hover_text_in_both_languages():
    assert D.hover("test_drive_rate").startswith("Test-drive rate = test drives / showroom visitor groups")
    assert "may exceed 100%" in D.hover("test_drive_rate")
    assert D.hover("test_drive_rate", "zh_CN").startswith("试驾率 = 试驾数 ÷ 来店批次")
    assert D.hover("nope") == ""
