"""Call-center rules with no I/O: due dates, calling windows, retries, scoring, complaint states, sampling."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.callcenter.domain.calling import CallingWindow, after_attempt
from services.callcenter.domain.complaints import TransitionRefused, breached, next_state, sla_due
from services.callcenter.domain.rules import DEFAULT_RULES, plan_tasks, validate_rule
from services.callcenter.domain.scoring import InvalidAnswers, default_questionnaire, score_answers, validate_questions
from services.callcenter.domain.spotcheck import disagreements, sampled

SH = "Asia/Shanghai"
W = CallingWindow()
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _local(dt: datetime) -> datetime:
    return dt.astimezone(ZoneInfo(SH))


def test_delivery_callback_is_due_on_day_three_at_the_window_opening():
    [p] = plan_tasks(DEFAULT_RULES["delivery_callback"], date(2026, 6, 1), SH, W, NOW)
    assert _local(p.due_at).date() == date(2026, 6, 4) and _local(p.due_at).hour == 9
    assert _local(p.expires_at) == datetime(2026, 6, 8, 20, 0, tzinfo=ZoneInfo(SH))


def test_insurance_renewal_makes_two_reminders_sixty_and_thirty_days_before_expiry():
    plans = plan_tasks(DEFAULT_RULES["insurance_renewal"], date(2026, 9, 30), SH, W, NOW)
    assert [_local(p.due_at).date() for p in plans] == [date(2026, 8, 1), date(2026, 8, 31)]


def test_maintenance_reminder_is_seven_days_before_and_a_reminder_already_too_late_is_not_made():
    [p] = plan_tasks(DEFAULT_RULES["maintenance_reminder"], date(2026, 6, 20), SH, W, NOW)
    assert _local(p.due_at).date() == date(2026, 6, 13)
    assert plan_tasks(DEFAULT_RULES["maintenance_reminder"], date(2026, 5, 1), SH, W, NOW) == []


def test_birthday_care_is_on_the_day_only():
    [p] = plan_tasks(DEFAULT_RULES["birthday_care"], date(2026, 6, 1), SH, W, NOW)
    assert _local(p.due_at).date() == _local(p.expires_at).date() == date(2026, 6, 1)


def test_a_disabled_rule_plans_nothing():
    rule = DEFAULT_RULES["churn_winback"].merged({"enabled": False})
    assert plan_tasks(rule, date(2026, 6, 1), SH, W, NOW) == []


def test_rule_changes_are_validated():
    assert "offsets_days" in validate_rule({"offsets_days": []})
    assert "max_attempts" in validate_rule({"max_attempts": 0})
    assert validate_rule({"offsets_days": [-60, -30], "retry_minutes": [60, 1440]}) == {}


@pytest.mark.parametrize("hh, inside", [(8, False), (9, True), (19, True), (20, False), (23, False)])
def test_calling_window_is_nine_to_eight_local(hh, inside):
    moment = datetime(2026, 6, 1, hh, 30, tzinfo=ZoneInfo(SH))
    assert W.contains(moment, SH) is inside


def test_next_open_moves_a_late_evening_retry_to_nine_the_next_morning():
    late = datetime(2026, 6, 1, 21, 0, tzinfo=ZoneInfo(SH))
    assert _local(W.next_open(late, SH)) == datetime(2026, 6, 2, 9, 0, tzinfo=ZoneInfo(SH))


def test_retry_policy_two_hours_then_next_day_then_unreachable():
    args = dict(max_attempts=3, retry_minutes=(120, 1440), now=NOW, window=W, tz=SH)
    first = after_attempt("no_answer", 0, **args)
    assert first.status == "open" and first.available_at == NOW + timedelta(hours=2) and first.failed_attempts == 1
    second = after_attempt("busy", 1, **args)
    assert second.status == "open" and second.available_at == NOW + timedelta(days=1)
    third = after_attempt("no_answer", 2, **args)
    assert third.status == "failed" and third.outcome == "unreachable"


def test_reached_closes_and_refused_or_wrong_number_fail_at_once():
    args = dict(max_attempts=3, retry_minutes=(120,), now=NOW, window=W, tz=SH)
    assert after_attempt("reached", 0, **args).status == "done"
    assert after_attempt("refused", 0, **args).outcome == "refused"
    assert after_attempt("wrong_number", 0, **args).outcome == "wrong_number"


def test_a_promised_call_back_is_reserved_for_the_agent_then_released():
    at = NOW + timedelta(hours=3)
    res = after_attempt("call_back", 0, 3, (120,), NOW, W, SH, agent_id="a1", callback_at=at, release_minutes=30)
    assert res.status == "open" and res.available_at == at and res.reserved_for == "a1"
    assert res.reserved_until == at + timedelta(minutes=30) and res.failed_attempts == 0


def _delivery():
    return default_questionnaire("delivery_callback")[2]


def test_weighted_score_and_measures():
    res = score_answers(_delivery(), {"overall": "5", "explained": "yes", "on_time": "yes", "recommend": "10",
                                      "repurchase": "high", "comments": "很好"}, 60)
    assert res.score == 100 and not res.low_score
    assert (res.satisfaction, res.recommend, res.repurchase) == (5, 10, "high")
    assert res.answers[-1]["value"] == "很好"


def test_a_low_score_is_flagged():
    res = score_answers(_delivery(), {"overall": "2", "explained": "yes", "on_time": "no", "recommend": "3"}, 60)
    assert res.score < 60 and res.low_score


def test_a_chosen_alert_answer_flags_even_a_good_score():
    res = score_answers(_delivery(), {"overall": "5", "explained": "no", "on_time": "yes", "recommend": "10"}, 60)
    assert res.score >= 60 and res.low_score and any("讲解" in a for a in res.alerts)


def test_invalid_answers_name_the_question():
    with pytest.raises(InvalidAnswers) as exc:
        score_answers(_delivery(), {"overall": "9"}, 60)
    assert "overall" in exc.value.errors
    with pytest.raises(InvalidAnswers) as exc:
        score_answers(_delivery(), {"recommend": "5"}, 60)
    assert "overall" in exc.value.errors  # required


def test_multiple_choice_adds_option_scores_up_to_100():
    q = [{"key": "liked", "type": "multi", "text": "喜欢什么", "weight": 1,
          "options": [{"value": "a", "label": "A", "score": 60}, {"value": "b", "label": "B", "score": 60}]}]
    assert score_answers(q, {"liked": ["a", "b"]}, 50).score == 100


def test_questionnaire_validation_catches_bad_designs():
    errors = validate_questions([{"key": "Bad Key", "type": "single", "text": "", "options": [{"value": "x"}]}])
    assert len(errors["questions.0"]) >= 3
    assert validate_questions(_delivery()) == {}


def test_complaint_states_and_sla():
    assert next_state("open", "start") == "in_progress"
    assert next_state("in_progress", "resolve") == "resolved"
    assert next_state("resolved", "confirm") == "confirmed"
    assert next_state("resolved", "reopen") == "reopened"
    with pytest.raises(TransitionRefused):
        next_state("open", "confirm")
    due = sla_due("high", NOW)
    assert due == NOW + timedelta(hours=24)
    assert breached("open", due, None, due + timedelta(minutes=1))
    assert not breached("resolved", due, due - timedelta(hours=1), due + timedelta(days=3))


def test_spot_check_sampling_is_stable_and_near_the_share():
    ids = [f"cb-{i}" for i in range(4000)]
    share = sum(sampled(i, 0.1) for i in ids) / len(ids)
    assert 0.08 < share < 0.12
    assert [sampled(i, 0.1) for i in ids[:50]] == [sampled(i, 0.1) for i in ids[:50]]
    assert not any(sampled(i, 0) for i in ids[:100]) and all(sampled(i, 1.0) for i in ids[:100])


def test_spot_check_disagreements():
    assert disagreements(True, 5, False, None) == ["not_called"]
    assert disagreements(True, 5, True, 2) == ["satisfaction"]
    assert disagreements(True, 4, True, 5) == []
