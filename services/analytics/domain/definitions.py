"""What every KPI means, written once: name (zh/en), formula, the events behind its numerator and
denominator, and whether it may exceed 100% and why. `docs/kpis.md` is this table rendered
(`markdown()`; a test keeps them equal) and the dashboard's hover text comes from `hover()`.

`VERSION` is the latest definitions; a change of meaning is a new version with its own line in
`CHANGES`, and the derivation keeps every version (`facts.derive(..., definitions=)`). A group's figures
follow the version in force for it (its analytics settings; the latest unless a rebuild chose another:
`crm rebuild-analytics --definitions v1`, `POST /analytics/api/v1/reconciliation/rebuild?definitions=1`);
rebuilding from the event log under a version gives the same figures every time.
"""
from __future__ import annotations

from dataclasses import dataclass

VERSION = 2
CHANGES = {
    1: "first published definitions: an order counts on its signing day whatever happens to it later "
       "(a cancellation changes no figure)",
    2: "orders exclude cancelled orders (leads.order.cancelled) and count them as orders_cancelled on the "
       "cancellation day; overdue follow-ups are the leads service's own due dates (leads.lead.due_changed)",
}
VERSIONS = tuple(sorted(CHANGES))
#: what a rebuild under an older version cannot give back (read from current state, not from the rollups)
NOT_VERSIONED = "overdue follow-ups are the leads service's due dates under every version (analytics keeps no cadence)"


def parse_version(value: str | int) -> int:
    """`1`, `"1"` or `"v1"` → 1; ValueError for a version that does not exist."""
    text = str(value).strip().lower().removeprefix("v")
    if not text.isdigit() or int(text) not in CHANGES:
        raise ValueError(f"no such definitions version: {value} (one of {', '.join(f'v{v}' for v in VERSIONS)})")
    return int(text)


@dataclass(frozen=True)
class Definition:
    key: str
    name_zh: str
    name_en: str
    formula: str
    numerator: str
    denominator: str = ""
    #: "" for a count, an amount or a score; else the bound of a rate: "≤ 100%" or why it may exceed it
    bound: str = ""


#: the formula in Chinese for the hover text of the Chinese UI (the events are names, they stay as they are)
FORMULA_ZH = {
    "leads": "当月新增线索，按客户到店/来电日计", "frt_median": "来电/网络线索从到达到首次有效接触的营业时间分钟数中位数",
    "frt_sla_rate": "达标的首次响应 ÷ 计时的首次响应", "showroom_visits": "登记的来店批次",
    "phone_ins": "登记的来电数", "test_drives": "完成的试驾", "test_drive_rate": "试驾数 ÷ 来店批次",
    "orders": "当月签订且未取消的订单", "orders_cancelled": "当月取消的订单（按取消日）",
    "order_amount": "当月未取消订单的金额合计", "close_rate": "订单数 ÷ 当月新增线索",
    "deliveries": "交车数（按交车日）", "delivery_amount": "当月交车金额合计", "defeats": "经理批准的战败",
    "defeat_rate": "战败 ÷（战败 + 交车）", "fleet_share": "大客户交车 ÷ 交车", "corporate_share": "单位客户交车 ÷ 交车",
    "tact_calls": "顾问日报中的致电数（含更正）", "base_customers": "月末基盘客户数（存量）",
    "new_own": "首次在本店出现的集团新客户", "conversion_rate": "新保有客户 ÷ 本店新增客户",
    "new_other": "集团已有、本店新增的客户", "total_new_rate": "新增客户 ÷ 月初基盘客户",
    "churned": "当月转为流失的保有客户", "churn_rate": "流失客户 ÷ 月初保有客户",
    "churn_won_back": "挽回流失客户的维修保养", "insurance_won_back": "挽回断保客户的保单",
    "sat_overall": "问卷加权得分平均（0–100 分，非百分比）", "sat_sales": "销售/交车问卷得分平均（0–100 分）",
    "sat_after_sales": "售后问卷得分平均（0–100 分）", "complaints": "新开投诉",
    "complaint_resolved_rate": "当月新开且已解决（未重开）的投诉 ÷ 当月新开投诉",
    "callback_success_rate": "接通的回访 ÷ 已结束的回访",
}
#: whether a rate may pass 100%, in Chinese
BOUND_ZH = {
    "frt_sla_rate": "≤ 100%", "defeat_rate": "≤ 100%", "fleet_share": "≤ 100%", "corporate_share": "≤ 100%",
    "complaint_resolved_rate": "≤ 100%（按投诉开立月份的批次统计）", "callback_success_rate": "≤ 100%",
    "test_drive_rate": "可能超过 100%：预约来店的来电/网络线索试驾、一次来店多次试驾、上月来店本月试驾都计入分子，"
                       "分母只有本月来店批次",
    "close_rate": "可能超过 100%：本月订单也来自以前月份的线索（流量比，不是同批次）",
    "conversion_rate": "可能超过 100%：本月成为保有客户的也包括以前月份的新客户和他店客户",
    "total_new_rate": "可能超过 100%：新店月初基盘很小",
    "churn_rate": "通常 ≤ 100%，除非本月新增的保有客户当月即流失",
}


_D = Definition
DEFINITIONS: tuple[Definition, ...] = (
    _D("leads", "新增线索", "Leads", "new leads in the month, on the day the customer arrived",
       "leads.lead.created (its `at`: a visit's time in)"),
    _D("frt_median", "首次响应时长中位数", "First response, median (min)",
       "median business-hours minutes from arrival to first real contact (phone-in and online leads)",
       "leads.followup.logged with first_contact and response_seconds"),
    _D("frt_sla_rate", "首次响应达标率", "First response within SLA",
       "first responses within the SLA / first responses measured",
       "leads.followup.logged first_contact, within_sla", "leads.followup.logged first_contact with response_seconds",
       "≤ 100%: the numerator is a subset of the denominator"),
    _D("showroom_visits", "来店批次", "Showroom visitor groups", "walk-in groups logged",
       "leads.visit.logged kind=walk_in (on its time in)"),
    _D("phone_ins", "来电数", "Phone-in calls", "phone-ins logged", "leads.visit.logged kind=phone_in"),
    _D("test_drives", "试驾数", "Test drives", "completed test drives", "leads.testdrive.completed"),
    _D("test_drive_rate", "试驾率", "Test-drive rate", "test drives / showroom visitor groups",
       "leads.testdrive.completed", "leads.visit.logged kind=walk_in",
       "may exceed 100%: drives by phone-in or online leads who come by appointment, several drives in one "
       "visit, and drives this month by groups who visited last month all count, while only walk-in groups "
       "of the month are in the denominator"),
    _D("orders", "订单数", "Orders", "orders signed in the month and not cancelled",
       "leads.order.placed without a later leads.order.cancelled (on the signing day)"),
    _D("orders_cancelled", "取消订单", "Orders cancelled", "orders cancelled in the month (on the cancellation day)",
       "leads.order.cancelled"),
    _D("order_amount", "订单金额", "Order amount (¥)", "sum of the prices of the month's orders (not cancelled)",
       "leads.order.placed price"),
    _D("close_rate", "线索成交率", "Lead-to-order rate", "orders / new leads of the month",
       "leads.order.placed (not cancelled)", "leads.lead.created",
       "may exceed 100%: orders this month come from leads created in earlier months too (a flow ratio, "
       "not a cohort)"),
    _D("deliveries", "交车数", "Deliveries", "cars handed over (on the delivery day)",
       "leads.vehicle.delivered delivered_on"),
    _D("delivery_amount", "交车金额", "Delivery amount (¥)", "sum of the prices of the month's deliveries",
       "leads.vehicle.delivered price"),
    _D("defeats", "战败数", "Defeats", "defeats approved by the manager", "leads.defeat.approved"),
    _D("defeat_rate", "战败率", "Defeat rate", "defeats / (defeats + deliveries)",
       "leads.defeat.approved", "leads.defeat.approved + leads.vehicle.delivered",
       "≤ 100%: the numerator is part of the denominator"),
    _D("fleet_share", "大客户占比", "Fleet share", "fleet deliveries / deliveries",
       "leads.vehicle.delivered sale_type=fleet", "leads.vehicle.delivered", "≤ 100%: a subset"),
    _D("corporate_share", "单位客户占比", "Corporate share", "corporate deliveries / deliveries",
       "leads.vehicle.delivered customer_kind=corporate", "leads.vehicle.delivered", "≤ 100%: a subset"),
    _D("tact_calls", "致电数（TACT）", "Calls made (TACT)", "calls in the consultants' daily reports (amendments included)",
       "leads.report.submitted figures.calls"),
    _D("base_customers", "基盘客户", "Base customers", "customers of a base class at the end of the month (stock)",
       "customers.relationship.linked / changed customer_class"),
    _D("new_own", "本店新增客户", "New from own store", "customers new to the group, first seen at this store",
       "customers.relationship.linked new_customer=true"),
    _D("conversion_rate", "新客转化率", "Conversion rate", "new owners / new customers from own store",
       "customers.relationship.* to self_sold", "customers.relationship.linked new_customer=true",
       "may exceed 100%: customers who became owners this month include those who were new in earlier months "
       "and customers first seen at another store"),
    _D("new_other", "他店新增客户", "New from other stores", "customers already known to the group, new to this store",
       "customers.relationship.linked new_customer=false"),
    _D("total_new_rate", "总新增率", "Total new rate", "new customers / base customers at the start of the month",
       "customers.relationship.linked", "base customers (stock) at the end of the month before",
       "may exceed 100%: a new store starts with a small base"),
    _D("churned", "流失客户", "Churned", "owners who became churned in the month", "customers.relationship.changed to churned"),
    _D("churn_rate", "流失率", "Churn rate", "churned / owners at the start of the month",
       "customers.relationship.changed to churned", "owners (stock) at the end of the month before",
       "≤ 100% except when owners who joined during the month also churn in it"),
    _D("churn_won_back", "流失回厂", "Churned owners won back", "service visits that won back a churned owner",
       "customers.service.recorded won_back=true"),
    _D("insurance_won_back", "断保回追", "Lapsed insurance won back", "policies that won back a lapsed customer",
       "customers.insurance.recorded won_back=true"),
    _D("sat_overall", "总体满意度", "Overall satisfaction", "mean weighted questionnaire score (0–100 points, not a percentage)",
       "callcenter.survey.submitted score", "callcenter.survey.submitted"),
    _D("sat_sales", "销售满意度", "Sales satisfaction", "mean score of delivery/sales questionnaires (0–100 points)",
       "callcenter.survey.submitted (sales task types) score", "callcenter.survey.submitted (sales task types)"),
    _D("sat_after_sales", "售后满意度", "After-sales satisfaction", "mean score of service questionnaires (0–100 points)",
       "callcenter.survey.submitted (service task types) score", "callcenter.survey.submitted (service task types)"),
    _D("complaints", "投诉数", "Complaints", "complaints opened", "callcenter.complaint.opened"),
    _D("complaint_resolved_rate", "投诉解决率", "Complaints resolved",
       "complaints opened in the month and resolved (not reopened) / complaints opened in the month",
       "callcenter.complaint.resolved (latest word, not reopened)", "callcenter.complaint.opened",
       "≤ 100%: a cohort (resolutions are counted in the month the complaint was opened)"),
    _D("callback_success_rate", "回访成功率", "Callback success rate", "callbacks reached / callbacks closed",
       "callcenter.task.completed outcome=reached", "callcenter.task.completed + callcenter.task.failed",
       "≤ 100%: a subset"),
)
BY_KEY = {d.key: d for d in DEFINITIONS}

#: ratios shown beside every KPI: what they are and why they are not bounded
DERIVED = (
    ("achievement", "达成率", "Achievement", "actual / target (lower-is-better KPIs: target / actual)",
     "may exceed 100%: over target"),
    ("mom", "环比", "Month on month", "(this month − last month) / last month",
     "unbounded: a change, not a share (7 after 1 is +600%; shown empty when last month is 0)"),
    ("yoy", "同比", "Year on year", "(this month − same month last year) / same month last year", "unbounded: a change"),
)


def hover(key: str, lang: str = "en", version: int = VERSION) -> str:
    """The text the dashboard shows on hovering a KPI (one line, from this table), naming the version the
    figures follow."""
    d = BY_KEY.get(key)
    if d is None:
        return ""
    if lang.startswith("zh"):
        parts = [f"{d.name_zh} = {FORMULA_ZH[key]}", f"分子：{d.numerator}"]
        if d.denominator:
            parts.append(f"分母：{d.denominator}")
        if key in BOUND_ZH:
            parts.append(BOUND_ZH[key])
        return " · ".join(parts) + f"（定义 v{version}）"
    parts = [f"{d.name_en} = {d.formula}", f"numerator: {d.numerator}"]
    if d.denominator:
        parts.append(f"denominator: {d.denominator}")
    if d.bound:
        parts.append(d.bound)
    return " · ".join(parts) + f" (definitions v{version})"


def markdown() -> str:
    """The definitions as the Markdown table in docs/kpis.md."""
    rows = ["| key | 名称 | name | formula | numerator events | denominator events | above 100%? |",
            "|---|---|---|---|---|---|---|"]
    for d in DEFINITIONS:
        rows.append(f"| `{d.key}` | {d.name_zh} | {d.name_en} | {d.formula} | {d.numerator} | "
                    f"{d.denominator or '—'} | {d.bound or '—'} |")
    rows += ["", "| ratio | 名称 | name | formula | above 100%? |", "|---|---|---|---|---|"]
    rows += [f"| `{k}` | {zh} | {en} | {f} | {b} |" for k, zh, en, f, b in DERIVED]
    rows += ["", "| version | what changed |", "|---|---|"]
    rows += [f"| v{v}{' (latest)' if v == VERSION else ''} | {CHANGES[v]} |" for v in VERSIONS]
    rows += ["", f"Not versioned: {NOT_VERSIONED}."]
    return "\n".join(rows) + "\n"
