"""Questionnaires (回访问卷): question types, validation, weighted scoring and alerts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

QUESTION_TYPES = ("satisfaction5", "nps", "yes_no", "single", "multi", "text")
MEASURES = ("satisfaction", "recommend", "repurchase")
SATISFACTION_LEVELS = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}
REPURCHASE_VALUES = ("high", "medium", "low")  # >70%, 30–70%, <30%
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def options_of(q: dict) -> list[dict]:
    """The answer options of a question, with a score 0–100 each."""
    t = q["type"]
    if t == "satisfaction5":
        return [{"value": str(v), "label": label, "score": (v - 1) * 25} for v, label in SATISFACTION_LEVELS.items()]
    if t == "nps":
        return [{"value": str(v), "label": str(v), "score": v * 10} for v in range(10, -1, -1)]
    if t == "yes_no":
        given = {o["value"]: o for o in q.get("options") or []}
        return [given.get("yes", {"value": "yes", "label": "是", "score": 100}),
                given.get("no", {"value": "no", "label": "否", "score": 0})]
    return list(q.get("options") or [])


def validate_questions(questions: list[dict]) -> dict[str, list[str]]:
    """Field errors of a questionnaire's question list (empty when valid)."""
    errors: dict[str, list[str]] = {}
    if not questions:
        return {"questions": ["add at least one question"]}
    seen: set = set()
    for i, q in enumerate(questions):
        problems = _key_problems(q, seen) + _type_problems(q) + _number_problems(q)
        if problems:
            errors[f"questions.{i}"] = problems
    return errors


def _key_problems(q: dict, seen: set) -> list[str]:
    """The key is a lower-case identifier, once per questionnaire (adds it to `seen`)."""
    problems = []
    if not KEY_RE.match(str(q.get("key", ""))):
        problems.append("key: lower-case letters, digits and _ (e.g. overall)")
    elif q["key"] in seen:
        problems.append(f"key {q['key']} is used twice")
    seen.add(q.get("key"))
    if not str(q.get("text", "")).strip():
        problems.append("text is empty")
    return problems


def _type_problems(q: dict) -> list[str]:
    """A known type; a choice question has at least two options with unique values and 0–100 scores."""
    if q.get("type") not in QUESTION_TYPES:
        return [f"type must be one of {', '.join(QUESTION_TYPES)}"]
    if q["type"] not in ("single", "multi"):
        return []
    problems = []
    opts = q.get("options") or []
    if len(opts) < 2:
        problems.append("a choice question needs at least two options")
    values = [str(o.get("value", "")) for o in opts]
    if len(set(values)) != len(values) or any(not v for v in values):
        problems.append("option values must be unique and not empty")
    if any(not 0 <= float(o.get("score", 0)) <= 100 for o in opts):
        problems.append("option scores are between 0 and 100")
    return problems


def _number_problems(q: dict) -> list[str]:
    """Weight not negative, a known measure, an alert threshold between 0 and 100."""
    problems = []
    try:
        if float(q.get("weight", 1)) < 0:
            problems.append("weight cannot be negative")
    except (TypeError, ValueError):
        problems.append("weight is a number")
    if q.get("measure") not in (None, "", *MEASURES):
        problems.append(f"measure must be one of {', '.join(MEASURES)}")
    if q.get("alert_below") not in (None, "") and not 0 <= float(q["alert_below"]) <= 100:
        problems.append("alert_below is a score between 0 and 100")
    return problems


@dataclass
class ScoreResult:
    score: float  # weighted 0–100
    low_score: bool
    satisfaction: int | None = None
    recommend: int | None = None
    repurchase: str | None = None
    alerts: list[str] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)  # [{key, text, type, value, label, score}]


class InvalidAnswers(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid answers: " + ", ".join(sorted(errors)))
        self.errors = errors


def _clean(q: dict, raw) -> list[str]:
    if raw is None or raw == "" or raw == []:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in values if str(v).strip()]


def score_answers(questions: list[dict], answers: dict, threshold: float) -> ScoreResult:
    """Weighted score of the answers; low when under `threshold` or when an alert answer was chosen."""
    errors: dict[str, list[str]] = {}
    total = weights = 0.0
    result = ScoreResult(score=0.0, low_score=False)
    for q in questions:
        key, t = q["key"], q["type"]
        values = _clean(q, answers.get(key))
        if not values:
            if q.get("required"):
                errors[key] = ["an answer is required"]
            continue
        if t == "text":
            result.answers.append({"key": key, "text": q["text"], "type": t, "value": values[0][:2000],
                                   "label": values[0][:2000], "score": None})
            continue
        opts = {o["value"]: o for o in options_of(q)}
        if t != "multi" and len(values) > 1:
            errors[key] = ["choose one answer"]
            continue
        unknown = [v for v in values if v not in opts]
        if unknown:
            errors[key] = [f"not an option: {', '.join(unknown)}"]
            continue
        chosen = [opts[v] for v in values]
        s = min(100.0, sum(float(o.get("score", 0)) for o in chosen))
        weight = float(q.get("weight", 1) or 0)
        total, weights = total + s * weight, weights + weight
        result.answers.append({"key": key, "text": q["text"], "type": t, "value": values if t == "multi" else values[0],
                               "label": "、".join(str(o.get("label", o["value"])) for o in chosen), "score": s})
        measure = q.get("measure") or {"satisfaction5": "satisfaction", "nps": "recommend"}.get(t)
        if measure == "satisfaction" and t == "satisfaction5":
            result.satisfaction = int(values[0])
        elif measure == "recommend" and t == "nps":
            result.recommend = int(values[0])
        elif measure == "repurchase" and values[0] in REPURCHASE_VALUES:
            result.repurchase = values[0]
        if q.get("alert_below") not in (None, "") and s < float(q["alert_below"]):
            result.alerts.append(f"{q['text']}: {result.answers[-1]['label']}")
        elif set(values) & {str(v) for v in q.get("alert_on") or []}:
            result.alerts.append(f"{q['text']}: {result.answers[-1]['label']}")
    if errors:
        raise InvalidAnswers(errors)
    if weights <= 0:
        raise InvalidAnswers({"answers": ["answer at least one scored question"]})
    result.score = round(total / weights, 1)
    result.low_score = result.score < threshold or bool(result.alerts)
    return result


def default_questionnaire(task_type: str) -> tuple[str, str, list[dict]]:
    """(name, script, questions) a group starts with for a task type, before a supervisor edits it."""
    greet = "您好，我是集团客户服务中心的客服专员，打扰您一两分钟可以吗？"
    sat = {"key": "overall", "type": "satisfaction5", "text": "您对本次服务的整体满意度如何？", "weight": 3,
           "measure": "satisfaction", "required": True, "alert_below": 50}
    nps = {"key": "recommend", "type": "nps", "text": "您有多大可能把我们推荐给亲友？（0–10 分）", "weight": 1,
           "measure": "recommend"}
    rep = {"key": "repurchase", "type": "single", "text": "下次换车或增购时，您再选择我们的可能性？", "weight": 1,
           "measure": "repurchase", "options": [
               {"value": "high", "label": "很可能（>70%）", "score": 100},
               {"value": "medium", "label": "可能（30–70%）", "score": 50},
               {"value": "low", "label": "不太可能（<30%）", "score": 0}]}
    note = {"key": "comments", "type": "text", "text": "您还有什么意见或建议？", "weight": 0}
    if task_type == "delivery_callback":
        return ("交车回访问卷", greet + "感谢您选购新车，想了解一下交车时的体验。", [
            sat,
            {"key": "explained", "type": "yes_no", "text": "销售顾问是否详细讲解了车辆功能和保养事项？", "weight": 1,
             "alert_on": ["no"]},
            {"key": "on_time", "type": "yes_no", "text": "车辆是否按约定时间交付？", "weight": 1},
            nps, rep, note])
    if task_type == "service_callback":
        return ("维修保养回访问卷", greet + "您前两天来店做了保养/维修，想了解您的体验。", [
            sat,
            {"key": "fixed", "type": "yes_no", "text": "车辆问题是否一次修好？", "weight": 2, "alert_on": ["no"]},
            {"key": "waiting", "type": "single", "text": "等待时间您觉得如何？", "weight": 1, "options": [
                {"value": "short", "label": "很快", "score": 100}, {"value": "ok", "label": "可以接受", "score": 60},
                {"value": "long", "label": "太久", "score": 0}]},
            nps, note])
    if task_type == "spot_check":
        return ("集团抽查问卷", greet + "门店近期给您做过回访，我们想核实一下情况。", [
            {"key": "called", "type": "yes_no", "text": "门店最近是否给您打过回访电话？", "weight": 1,
             "required": True},
            dict(sat, text="您对门店的服务满意吗？"), note])
    if task_type == "complaint_followup":
        return ("投诉回访", greet + "关于您之前反映的问题，门店已处理，想跟您确认结果。", [
            {"key": "resolved_ok", "type": "yes_no", "text": "问题是否已经解决，您是否认可处理结果？", "weight": 2,
             "required": True, "alert_on": ["no"]},
            dict(sat, text="您对投诉处理的满意度？"), note])
    if task_type == "defeat_verification":
        return ("战败核实", greet + "您之前来店看过车，想了解一下您最后的选择。", [
            {"key": "bought_elsewhere", "type": "yes_no", "text": "您是否已经购买了其他品牌或其他店的车？",
             "weight": 0},
            {"key": "reason", "type": "single", "text": "主要原因是？", "weight": 0, "options": [
                {"value": "price", "label": "价格", "score": 0},
                {"value": "competitor", "label": "竞品更合适", "score": 0},
                {"value": "financing", "label": "贷款/金融方案", "score": 0},
                {"value": "postponed", "label": "推迟购买", "score": 0},
                {"value": "other", "label": "其他", "score": 0}]},
            dict(sat, text="您对我们销售顾问的接待满意吗？", required=False), note])
    return ("客户关怀", greet, [dict(sat, required=False, text="您对我们的服务满意吗？"),
                                {"key": "booked", "type": "yes_no", "text": "是否需要为您预约到店？", "weight": 0},
                                note])
