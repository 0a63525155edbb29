"""Pure rules: grading, sources, round-robin, funnel and refill, report figures, reading imported CSV."""
from __future__ import annotations

import codecs

import pytest

from services.leads.domain import GroupRules, check_grade, next_round_robin, source_key
from services.leads.domain.funnel import amended, close_ratio, funnel, merge_figures, refill_needed
from services.leads.domain.imports import FileProblem, detect_encoding, header_map, parse_row, read_rows


def test_grading_rules():
    assert check_grade("N", "A", ["says_will_buy"]) == []
    assert check_grade("B", "O", []) != []  # O comes with an order
    assert check_grade("defeated", "A", []) != []
    assert check_grade("A", "H", ["no_such_signal"]) != []


def test_source_by_key_or_chinese_label_within_the_groups_list():
    assert source_key("网络/官网", GroupRules().sources) == "online"
    assert source_key("walk_in", ("walk_in",)) == "walk_in"
    assert source_key("online", ("walk_in",)) is None
    assert source_key("tiktok", GroupRules().sources) is None


def test_round_robin_wraps_and_skips_who_left():
    duty = ["a", "b", "c"]
    assert next_round_robin(duty, None) == "a"
    assert next_round_robin(duty, "a") == "b"
    assert next_round_robin(duty, "c") == "a"
    assert next_round_robin(duty, "b2") == "c"  # b2 went off duty: the next one after them
    assert next_round_robin([], "a") is None


def test_refill_rule_one_in_five():
    assert close_ratio(5, 25) == 0.2
    assert refill_needed(5, 0.2) == 25
    assert refill_needed(3, 0.25) == 12
    assert refill_needed(5, None) == 25  # no history yet: the domain's 1:5


def test_funnel_conversion_rates():
    steps = funnel([("new", 100), ("drive", 40), ("order", 10), ("delivered", 8)])
    assert [round(x.rate, 2) if x.rate else x.rate for x in steps] == [None, 0.4, 0.25, 0.8]


def test_entered_figures_override_counts_and_amendments_apply_in_order():
    figs = merge_figures({"calls": 12, "reached": 7}, {"calls": 15, "negotiations": 2})
    assert figs["calls"] == 15 and figs["reached"] == 7 and figs["negotiations"] == 2 and figs["dms"] == 0
    assert amended({"calls": 15}, [{"calls": 14}, {"calls": 16}]) == {"calls": 16}


def test_encoding_detection():
    assert detect_encoding("姓名,手机\n张三,13800138000\n".encode()) == "utf-8"
    assert detect_encoding(codecs.BOM_UTF8 + "姓名,手机\n".encode()) == "utf-8-sig"
    assert detect_encoding("姓名,手机\n张三,13800138000\n李四,13900139000\n".encode("gbk")) == "gb18030"
    with pytest.raises(FileProblem):
        detect_encoding("姓名,手机\n".encode("utf-16"))


def test_rows_are_numbered_like_a_spreadsheet_and_a_foreign_line_is_a_bad_row():
    data = ("name,phone,source\n张三,13800138000,online\n".encode()
            + "李四,13900139000,online\n".encode("gbk") + b"\n" + "王五,13700137000,\n".encode())
    header, rows = read_rows(iter(data.splitlines(keepends=True)), "utf-8")
    cols = header_map(header)
    out = [(r.row, parse_row(r, cols, GroupRules().sources, "online", "utf-8")) for r in rows]
    assert out[0] == (2, {"name": "张三", "phone": "+8613800138000", "source": "online", "model": None,
                          "consultant": None, "campaign_id": None, "note": None})
    assert out[1][0] == 3 and "wrong encoding" in out[1][1]
    assert out[2][0] == 5 and out[2][1]["source"] == "online"  # the blank line 4 is skipped


def test_row_reasons():
    cols = header_map(["姓名", "手机", "来源"])
    rules = GroupRules()

    def reason(*cells):
        from services.leads.domain.imports import RawRow

        return parse_row(RawRow(2, list(cells), False), cols, rules.sources, "online", "utf-8")

    assert reason("", "13800138000", "") == "name is missing"
    assert reason("张三", "12345", "").startswith("bad phone")
    assert reason("张三", "13800138000", "抖音").startswith("unknown source")
    with pytest.raises(FileProblem):
        header_map(["客户", "车型"])


def test_fast_phone_normalisation_agrees_with_the_full_check():
    import random

    from services.leads.domain.imports import normalize_phone
    from shared.phones import InvalidPhone, normalize

    rnd = random.Random(1)
    samples = [f"1{rnd.randint(0, 9)}{rnd.randint(0, 10**9 - 1):09d}" for _ in range(3000)]
    samples += ["+86 138 0013 8000", "0086-139-1234-5678", "138-1234-0001", "12345", "021-6123-4567", ""]
    for raw in samples:
        try:
            want = normalize(raw)
        except InvalidPhone:
            want = None
        try:
            got = normalize_phone(raw)
        except InvalidPhone:
            got = None
        assert got == want, raw
