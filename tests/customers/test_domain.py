"""Customer rules, no I/O: classes, tiers, loyalty, churn, maintenance and insurance dates, ID protection."""
from __future__ import annotations

from datetime import date

import pytest

from services.customers import domain as d
from services.customers.pii import Pii


@pytest.mark.parametrize("facts,expected", [
    (d.RelationshipFacts(), "potential"),
    (d.RelationshipFacts(level="B"), "intent"),
    (d.RelationshipFacts(defeated=True), "defeated"),
    (d.RelationshipFacts(defeated=True, level="C"), "intent"),  # came back with a new lead
    (d.RelationshipFacts(owner_kind="self_sold", level="A"), "self_sold"),  # an owner buying again stays an owner
    (d.RelationshipFacts(owner_kind="other_sold", vip=True), "vip"),
    (d.RelationshipFacts(owner_kind="self_sold", vip=True, churned=True), "churned"),
])
def test_store_class_is_derived_from_what_the_store_knows(facts, expected):
    assert d.derive_class(facts) == expected


def test_a_visit_for_a_car_sold_elsewhere_makes_an_other_sold_or_other_brand_owner():
    assert d.owner_kind_for_visit("s1", "s1", "toyota", "toyota") == "self_sold"
    assert d.owner_kind_for_visit("s2", "s1", "toyota", "toyota") == "other_sold"
    assert d.owner_kind_for_visit(None, "s1", "vw", "toyota") == "other_brand"
    assert d.stronger_owner("other_sold", "self_sold") == "self_sold"


def test_value_tier_follows_configurable_thresholds():
    assert d.value_tier(900_000) == "VIP" and d.value_tier(20_000) == "D"
    assert d.value_tier(60_000, {"C": 80_000}) == "D"


def test_maintenance_due_three_months_after_purchase_then_five_months_or_5000_km():
    rule = d.MaintenanceRule()
    assert d.next_maintenance(rule, date(2025, 1, 31), None, None) == date(2025, 4, 30)
    assert d.next_maintenance(rule, date(2025, 1, 1), date(2025, 4, 1), 2000) == date(2025, 9, 1)
    # 10,000 km in 100 days: 5,000 km more in 50 days comes before 5 months
    assert d.next_maintenance(rule, date(2025, 1, 1), date(2025, 4, 11), 10_000) == date(2025, 5, 31)


def test_insurance_notices_at_60_and_30_days_and_churn_stages():
    assert d.insurance_notice(date(2025, 6, 30), date(2025, 4, 30), (60, 30)) is None
    assert d.insurance_notice(date(2025, 6, 30), date(2025, 5, 1), (60, 30)) == 60
    assert d.insurance_notice(date(2025, 6, 30), date(2025, 6, 5), (60, 30)) == 30
    cfg = d.CareSettings()
    assert d.churn_stage(date(2024, 6, 1), date(2025, 5, 31), cfg) is None
    assert d.churn_stage(date(2024, 6, 1), date(2025, 6, 1), cfg) == "churned"
    assert d.churn_stage(date(2023, 6, 1), date(2025, 6, 1), cfg) == "lost"


def test_schedule_ids_are_stable_and_distinct():
    assert d.schedule_id("birthday", "g", "c", 2025) == d.schedule_id("birthday", "g", "c", 2025)
    assert d.schedule_id("birthday", "g", "c", 2025) != d.schedule_id("birthday", "g", "c", 2026)


def test_merged_consent_keeps_the_strictest_opt_out():
    a = {"phone": True, "sms": False, "wechat": True, "email": True}
    b = {"phone": False, "sms": True, "wechat": True}
    assert d.strictest_consent(a, b) == {"phone": False, "sms": False, "wechat": True, "email": True}


def test_loyalty_and_churn_risk():
    assert [d.recommend_class(x) for x in (10, 8, 3, None)] == ["very_likely", "possible", "unlikely", None]
    assert d.churn_risk(date(2024, 9, 1), date(2025, 6, 1), 12, 2, 0, owner=True) == "high"
    assert d.churn_risk(date(2025, 5, 1), date(2025, 6, 1), 12, 5, 0, owner=True) == "low"


def test_id_numbers_are_found_by_exact_match_only_and_never_stored_in_clear():
    pii = Pii("a-secret-of-the-service")
    n = d.normalize_id_number("310101 19900101 123x")
    assert n == "31010119900101123X" and d.mask_id_number(n) == "310***********123X"
    key = pii.lookup_key("g1", n)
    assert key == pii.lookup_key("g1", n) and key != pii.lookup_key("g2", n)
    assert key != pii.lookup_key("g1", n[:-1]) and n not in key
    sealed = pii.seal("g1", n)
    assert n not in sealed and pii.unseal("g1", sealed) == n
    assert Pii("another-secret").lookup_key("g1", n) != key


def test_identifiers_are_normalised_or_refused():
    assert d.normalize_vin("lfv 2a21k5 8310 2345") == "LFV2A21K583102345"
    with pytest.raises(d.RuleError):
        d.normalize_vin("LFV2A21K58310234O")  # O is not used in VINs
    assert d.name_key(" 张 三 ") == "张三"
