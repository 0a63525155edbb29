"""UI labels of KPIs, dimensions and table columns (translated), and number formatting."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

KPI_LABELS = {
    "leads": _l("Leads"),
    "frt_median": _l("First response, median (min)"),
    "frt_sla_rate": _l("First response within SLA"),
    "showroom_visits": _l("Showroom visitor groups"),
    "phone_ins": _l("Phone-in calls"),
    "test_drives": _l("Test drives"),
    "test_drive_rate": _l("Test-drive rate"),
    "orders": _l("Orders"),
    "orders_cancelled": _l("Orders cancelled"),
    "order_amount": _l("Order amount (¥)"),
    "close_rate": _l("Lead-to-order rate"),
    "deliveries": _l("Deliveries"),
    "delivery_amount": _l("Delivery amount (¥)"),
    "defeats": _l("Defeats"),
    "defeat_rate": _l("Defeat rate"),
    "fleet_share": _l("Fleet share"),
    "corporate_share": _l("Corporate share"),
    "tact_calls": _l("Calls made (TACT)"),
    "base_customers": _l("Base customers"),
    "new_own": _l("New from own store"),
    "conversion_rate": _l("Conversion rate"),
    "new_other": _l("New from other stores"),
    "total_new_rate": _l("Total new rate"),
    "churned": _l("Churned"),
    "churn_rate": _l("Churn rate"),
    "churn_won_back": _l("Churned owners won back"),
    "insurance_won_back": _l("Lapsed insurance won back"),
    "sat_overall": _l("Overall satisfaction"),
    "sat_sales": _l("Sales satisfaction"),
    "sat_after_sales": _l("After-sales satisfaction"),
    "complaints": _l("Complaints"),
    "complaint_resolved_rate": _l("Complaints resolved"),
    "callback_success_rate": _l("Callback success rate"),
}
FAMILY_LABELS = {"sales": _l("Sales"), "customers": _l("Customers"), "satisfaction": _l("Satisfaction")}
LEVEL_LABELS = {"group": _l("Whole group"), "brand": _l("Brand"), "store": _l("Store"),
                "consultant": _l("Consultant"), "model": _l("Model"), "source": _l("Source")}
FUNNEL_LABELS = {"N": _l("New"), "C": "C", "B": "B", "A": "A", "H": "H", "O": _l("O (order)"),
                 "delivered": _l("Delivered")}
COMPLIANCE_LABELS = {"overdue_followups": _l("Overdue follow-ups"), "defeats_pending": _l("Defeats awaiting approval"),
                     "reports_missing": _l("Daily reports missing"), "reports_late": _l("Daily reports late"),
                     "callbacks_past_due": _l("Callbacks past due"), "total": _l("Total issues")}
SOURCE_LABELS = {"walk_in": _l("Walk-in"), "phone_in": _l("Phone-in"), "owner_replacement": _l("Owner replacement"),
                 "owner_referral": _l("Owner referral"), "internal_referral": _l("Internal referral"),
                 "informant": _l("Informant"), "targeted_prospecting": _l("Targeted prospecting"),
                 "area_canvassing": _l("Area canvassing"), "advertising": _l("Advertising"), "online": _l("Online"),
                 "event": _l("Event / test-drive day"), "service_customer": _l("Service customer"),
                 "showroom": _l("Showroom"), "phone": _l("Phone"), "referral": _l("Referral"),
                 "marketing": _l("Marketing")}
KEY_LABELS = {"price": _l("Price"), "competitor": _l("Competitor"), "financing": _l("Financing"),
              "postponed": _l("Postponed"), "other": _l("Other"), "retail": _l("Retail"), "fleet": _l("Fleet"),
              "individual": _l("Individual"), "corporate": _l("Corporate"), "calls": _l("Calls"),
              "reached": _l("Reached"), "dms": _l("DM sent"), "handouts": _l("Handouts sent"),
              "customer_visits": _l("Customer visits"), "showroom_groups": _l("Showroom groups"),
              "test_drive_groups": _l("Test-drive groups"), "sms_wechat": _l("SMS / WeChat"),
              "phone_ins": _l("Phone-ins"), "new_leads": _l("New leads"), "new_a_cards": _l("New A cards"),
              "orders": _l("Orders"), "deliveries": _l("Deliveries"), "negotiations": _l("Negotiations")}


def label(mapping: dict, key: str) -> str:
    return str(mapping.get(key, key))


def fmt(value, unit: str) -> str:
    """A KPI value as people read it: 1,234 / 12.3% / ¥1,234,567 / 72.4 / 10 min; '—' when undefined."""
    if value is None:
        return "—"
    if unit == "pct":
        return f"{value * 100:.1f}%"
    if unit == "yuan":
        return f"¥{value:,.0f}"
    if unit == "score":
        return f"{value:.1f}"
    if unit == "minutes":
        return f"{value:.0f}"
    return f"{value:,.0f}"


def export_value(value, unit: str):
    """The same value for a spreadsheet: numbers stay numbers (rates as fractions)."""
    if value is None:
        return None
    if unit in ("pct",):
        return round(value, 4)
    if unit in ("score", "yuan"):
        return round(value, 2)
    return round(value, 2) if isinstance(value, float) and not value.is_integer() else int(value)
#: the reconciliation's sources and the counts it compares beyond the dashboard's KPIs
RECONCILE_SOURCE_LABELS = {"leads": _l("Leads service"), "callcenter": _l("Call center"),
                           "customers": _l("Customers service")}
RECONCILE_KPI_LABELS = {
    **KPI_LABELS,
    "callbacks_created": _l("Callback tasks created"), "callbacks_closed": _l("Callback tasks closed"),
    "callbacks_reached": _l("Callbacks reached"), "call_attempts": _l("Calls made"),
    "surveys": _l("Questionnaires answered"), "service_visits": _l("Service visits"),
    "insurance_policies": _l("Insurance policies"),
}
