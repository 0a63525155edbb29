"""UI labels of the leads vocabulary (Chinese via the catalog; the business term in brackets stays)."""
from flask_babel import lazy_gettext as _l

LEVEL = {
    "N": _l("N · new, not judged"), "C": _l("C · within 6 months"), "B": _l("B · within 3 months"),
    "A": _l("A · within 1 month"), "H": _l("H · within 7 days"), "O": _l("O · order signed"),
    "delivered": _l("Delivered"), "defeated": _l("Defeated"), "invalid": _l("Invalid"),
}
SOURCE = {
    "walk_in": _l("Walk-in"), "phone_in": _l("Phone-in"), "owner_replacement": _l("Owner replacement / add-on"),
    "owner_referral": _l("Owner referral"), "internal_referral": _l("Internal referral"),
    "informant": _l("Informant"), "targeted_prospecting": _l("Targeted prospecting"),
    "area_canvassing": _l("Area canvassing / roadshow"), "advertising": _l("Advertising"),
    "online": _l("Online portal / website"), "event": _l("Event / test-drive day"),
    "service_customer": _l("Service customer"),
}
KIND = {"call": _l("Call"), "visit": _l("Visit"), "sms_wechat": _l("SMS / WeChat"), "dm": _l("DM"),
        "handout": _l("Handout")}
OUTCOME = {"reached": _l("Reached"), "appointment": _l("Appointment made"), "no_answer": _l("No answer"),
           "not_interested": _l("Not interested"), "visited_showroom": _l("Came to the showroom")}
DEFEAT = {"price": _l("Price"), "competitor": _l("Bought a competitor"), "financing": _l("Financing"),
          "postponed": _l("Postponed"), "other": _l("Other")}
PAYMENT = {"cash": _l("Cash"), "financing": _l("Financing"), "installment": _l("Installments"),
           "lease": _l("Lease")}
SIGNAL = {
    "terms_negotiated": _l("Terms negotiated"), "purchase_date_fixed": _l("Purchase date fixed"),
    "next_meeting_booked": _l("Next meeting booked"), "came_back_to_see_car": _l("Came back to see the car"),
    "asks_to_sell_old_car": _l("Asks for help selling the old car"), "says_will_buy": _l("Says they want to buy"),
    "deciding_between_models": _l("Deciding between models"), "qualified_buyer": _l("Qualified buyer"),
    "hesitating_between_models": _l("Hesitating between models"), "test_drive_done": _l("Test drive done"),
    "came_from_event": _l("Came from an event / walk-in / phone-in"), "looked_and_left": _l("Looked and left"),
    "took_brochure": _l("Took a brochure"), "compared_competitors": _l("Compared competitors"),
    "bargained": _l("Bargained"), "deposit_paid": _l("Deposit paid"),
    "model_colour_chosen": _l("Model and colour chosen"), "payment_and_date_given": _l("Payment and date given"),
    "financing_or_trade_in": _l("Financing or trade-in in progress"),
}
FIGURE = {
    "calls": _l("Calls made"), "reached": _l("Calls reached"), "sms_wechat": _l("SMS / WeChat sent"),
    "dms": _l("DMs sent"), "handouts": _l("Handouts (DH) sent"), "customer_visits": _l("Customer visits"),
    "showroom_groups": _l("Showroom visitor groups"), "phone_ins": _l("Phone-ins"),
    "test_drive_groups": _l("Test-drive groups"), "new_leads": _l("New leads"), "new_a_cards": _l("New A cards"),
    "orders": _l("Orders"), "deliveries": _l("Deliveries"), "negotiations": _l("Negotiations"),
    "ads_radio": _l("Radio ads"), "ads_print": _l("Print ads"), "ads_sms": _l("SMS ads"),
    "ads_other": _l("Other ads"), "mobile_shows": _l("Mobile shows"),
}
STEP = {"new_leads": _l("New leads"), "test_drives": _l("Test drives"), "orders": _l("Orders"),
        "deliveries": _l("Deliveries")}
ASSIGN_WHY = {"manual": _l("assigned by the manager"), "round_robin": _l("round-robin"),
              "departure": _l("consultant left"), "sla_breach": _l("SLA breached")}

DEFEAT_STATUS = {"proposed": _l("waiting for the manager"), "approved": _l("approved by the manager"),
                 "sent_back": _l("sent back by the manager")}
#: the reasons the system writes on a level change (handlers/sales.py)
LEVEL_REASON = {"order placed": _l("Order placed"), "vehicle delivered": _l("Vehicle delivered")}
AMENDMENT_STATUS = {"pending": _l("waiting for the manager"), "approved": _l("approved"), "rejected": _l("rejected")}
IMPORT_STATUS = {"queued": _l("queued"), "running": _l("running"), "done": _l("finished"), "failed": _l("failed"),
                 "interrupted": _l("interrupted")}

ALL = {"level": LEVEL, "source": SOURCE, "kind": KIND, "outcome": OUTCOME, "defeat": DEFEAT, "payment": PAYMENT,
       "signal": SIGNAL, "figure": FIGURE, "step": STEP, "why": ASSIGN_WHY,
       "defeat_status": DEFEAT_STATUS, "level_reason": LEVEL_REASON, "import_status": IMPORT_STATUS,
       "amendment_status": AMENDMENT_STATUS}


def label(group: str, key: str | None):
    if key is None:
        return ""
    return ALL[group].get(key, key)


def level_reason(text: str | None) -> str:
    """A level change's reason as the timeline shows it: the system's own reasons in the reader's language."""
    if not text:
        return ""
    if text.startswith("defeat: "):
        return f"{LEVEL['defeated']}: {label('defeat', text.removeprefix('defeat: '))}"
    return str(LEVEL_REASON.get(text, text))
