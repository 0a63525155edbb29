"""UI words for the customers vocabulary (Chinese terms of domain.md in the zh_CN catalog)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CLASS = {
    "potential": _l("Potential"), "intent": _l("Intent"), "self_sold": _l("Self-sold owner"),
    "other_sold": _l("Other-sold owner"), "vip": _l("VIP"), "other_brand": _l("Other-brand owner"),
    "defeated": _l("Defeated"), "churned": _l("Churned"),
}
CLASS_TAG = {"self_sold": "ok", "other_sold": "ok", "vip": "ok", "other_brand": "", "intent": "warn",
             "defeated": "bad", "churned": "bad", "potential": ""}
KIND = {"individual": _l("Individual"), "corporate": _l("Corporate"), "agreement": _l("Agreement (fleet)"),
        "partner": _l("Partner")}
CHANNEL = {"phone": _l("Phone"), "sms": _l("SMS"), "wechat": _l("WeChat"), "email": _l("Email")}
VISIT = {"maintenance": _l("Maintenance"), "repair": _l("Repair"), "accident": _l("Accident repair")}
RISK = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
RISK_TAG = {"low": "ok", "medium": "warn", "high": "bad"}
SATISFACTION = {1: _l("Very dissatisfied"), 2: _l("Dissatisfied"), 3: _l("Neutral"), 4: _l("Satisfied"),
                5: _l("Very satisfied")}
RECOMMEND = {"very_likely": _l("Very likely"), "possible": _l("Possible"), "unlikely": _l("Unlikely")}
REPURCHASE = {"high": _l("Above 70%"), "medium": _l("30–70%"), "low": _l("Below 30%")}
REASON = {"name_phone_tail": _l("Same name, same last 4 phone digits"), "company_name": _l("Same company name"),
          "shared_identifier": _l("Phone, ID number or VIN on two records"),
          "conflicting_identifier": _l("A store gave another phone or ID number for this customer"),
          "store_claim": _l("A store's record of a customer or a car another store has")}
EVENT = {
    "lead": _l("New lead"), "level": _l("Intent level changed"), "order": _l("Order placed"),
    "delivery": _l("Vehicle delivered"), "defeat": _l("Lost sale (defeat approved)"),
    "vehicle": _l("Vehicle registered"),
    "service": _l("Service visit"), "insurance": _l("Insurance policy"), "survey": _l("Survey answered"),
    "complaint": _l("Complaint opened"), "complaint_resolved": _l("Complaint resolved"),
    "complaint_confirmed": _l("Customer confirmed the resolution"), "complaint_reopened": _l("Complaint reopened"),
    "call": _l("Call-center call"),
    "consent": _l("Consent changed"), "profile": _l("Profile edited"), "merged": _l("Records merged"),
    "unmerged": _l("Merge undone"), "erased": _l("Personal data erased"),
}
ACTION = {"view_360": _l("Read the 360 view"), "reveal_phone": _l("Revealed the phone"),
          "reveal_id_number": _l("Revealed the ID number"), "export": _l("Exported the data"),
          "erase": _l("Erased the person"), "cross_store_match": _l("Matched from another store")}
OUTCOME = {"reached": _l("Reached"), "no_answer": _l("No answer"), "busy": _l("Busy"),
           "wrong_number": _l("Wrong number"), "call_back": _l("Call back later"), "refused": _l("Refused")}
IMPORT_KIND = {"vehicles": _l("Vehicles"), "service-visits": _l("Service visits (repair orders)"),
               "insurance-policies": _l("Insurance policies")}
SOURCE = {"walk_in": _l("Walk-in"), "phone_in": _l("Phone-in"), "referral": _l("Owner referral"),
          "online": _l("Online"), "event": _l("Event"), "service": _l("Service customer"),
          # the leads service's sources (a lead's source as its event names it)
          "owner_replacement": _l("Owner replacement / add-on"), "owner_referral": _l("Owner referral"),
          "internal_referral": _l("Internal referral"), "informant": _l("Informant"),
          "targeted_prospecting": _l("Targeted prospecting"), "area_canvassing": _l("Area canvassing / roadshow"),
          "advertising": _l("Advertising"), "service_customer": _l("Service customer")}
OUTCOME_LEAD = {"delivered": _l("Delivered"), "defeated": _l("Defeated"), "invalid": _l("Invalid")}
SEVERITY = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
TASK_TYPE = {
    "delivery_callback": _l("Delivery callback"), "service_callback": _l("Post-service callback"),
    "defeat_verification": _l("Defeat verification"), "maintenance_reminder": _l("Maintenance reminder"),
    "insurance_renewal": _l("Insurance renewal"), "birthday_care": _l("Birthday care"),
    "churn_winback": _l("Churn win-back"), "lapsed_insurance_winback": _l("Lapsed-insurance win-back"),
    "complaint_followup": _l("Complaint follow-up"), "spot_check": _l("HQ spot check"),
}
DEFEAT_REASON = {"price": _l("Price"), "competitor": _l("Bought a competitor"), "financing": _l("Financing"),
                 "postponed": _l("Postponed"), "other": _l("Other")}
#: the reasons the leads service writes on a level change by itself
LEVEL_REASON = {"order placed": _l("Order placed"), "vehicle delivered": _l("Vehicle delivered")}
FIELD = {"name": _l("Name"), "kind": _l("Type"), "phones": _l("Phone"), "id_number": _l("ID number"),
         "wechat": _l("WeChat"), "email": _l("Email"), "address": _l("Address"), "birthday": _l("Birthday"),
         "preferred_store_id": _l("Preferred store"), "preferred_consultant_id": _l("Preferred consultant"),
         "tags": _l("Tags")}
