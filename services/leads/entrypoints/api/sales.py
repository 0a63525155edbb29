"""Test drives, orders, deliveries, defeats and the daily activity reports."""
from __future__ import annotations


from flask import g
from flask.views import MethodView

from shared.auth import current_principal
from shared.errors import fail, not_found
from shared.idempotency import idempotent_create
from shared.permissions import require

from ... import handlers
from ... import views as queries
from ...handlers import reports
from ...handlers.common import get_lead
from ...adapters.models import DailyReport, StoreRef
from ...schemas import (
    ReopeningIn,
    ReopeningOut,
    AmendmentDecisionIn,
    AmendmentIn,
    AmendmentOut,
    BoardOut,
    CancelIn,
    DefeatDecisionIn,
    DefeatIn,
    DefeatOut,
    DeliveryIn,
    DraftOut,
    DraftQuery,
    OrderIn,
    OrderOut,
    OrderQuery,
    ReportIn,
    ReportOut,
    ReportQuery,
    TestDriveIn,
    TestDriveOut,
)
from . import blp, db, in_scope


@blp.route("/leads/<lead_id>/test-drives")
class TestDrives(MethodView):
    @require("leads.read")
    @blp.response(200, TestDriveOut(many=True))
    def get(self, lead_id):
        """The lead's test drives."""
        p = current_principal()
        with db().session(p.scope) as s:
            get_lead(s, lead_id)
            return queries.history(s, lead_id, "test_drives")

    @idempotent_create(blp, "leads.work", TestDriveOut, TestDriveIn)
    def post(self, body, lead_id):
        """Book a test drive of a model."""
        return in_scope(handlers.book_test_drive, lead_id, body)


@blp.route("/test-drives/<td_id>/complete")
class TestDriveDone(MethodView):
    @idempotent_create(blp, "leads.work", TestDriveOut, status=200)
    def post(self, td_id):
        """The customer drove the car."""
        return in_scope(handlers.complete_test_drive, td_id)


@blp.route("/leads/<lead_id>/orders")
class Orders(MethodView):
    @idempotent_create(blp, "leads.work", OrderOut, OrderIn)
    def post(self, body, lead_id):
        """Sign an order: model, colour, price, deposit, payment (incl. financing), trade-in, delivery date."""
        return in_scope(handlers.place_order, lead_id, body)


@blp.route("/orders")
class OrderList(MethodView):
    @require("leads.read")
    @blp.arguments(OrderQuery, location="query")
    @blp.response(200, OrderOut(many=True))
    def get(self, q):
        """Orders the caller may see (a consultant: their leads'; a manager: the store's; HQ: the group's),
        newest first; by status, store, lead and signing day (the group's local days); paginated."""
        p = current_principal()
        with db().session(p.scope) as s:
            rows, g.total_count = queries.orders(s, q)
            return rows


@blp.route("/orders/<order_id>")
class OrderOne(MethodView):
    @require("leads.read")
    @blp.response(200, OrderOut)
    def get(self, order_id):
        """One order; 404 when it is outside the caller's scope."""
        p = current_principal()
        with db().session(p.scope) as s:
            return handlers.get_order(s, order_id)


@blp.route("/orders/<order_id>/cancellation")
class OrderCancel(MethodView):
    @idempotent_create(blp, "leads.work", OrderOut, CancelIn, status=200)
    def post(self, body, order_id):
        """Cancel a signed order with the reason; the lead goes back to its level before the order."""
        return in_scope(handlers.cancel_order, order_id, body["reason"])


@blp.route("/orders/<order_id>/delivery")
class Delivery(MethodView):
    @idempotent_create(blp, "leads.work", OrderOut, DeliveryIn, status=200)
    def post(self, body, order_id):
        """Hand the car over: VIN and date; published for customers and the call center."""
        return in_scope(handlers.deliver, order_id, body["vin"], body["delivered_on"])


@blp.route("/leads/<lead_id>/defeat")
class ProposeDefeat(MethodView):
    @require("leads.work")
    @blp.arguments(DefeatIn)
    @blp.response(201, DefeatOut)
    def post(self, body, lead_id):
        """Propose closing the lead as defeated (战败), with the reason and the competitor."""
        return in_scope(handlers.propose_defeat, lead_id, body)


@blp.route("/defeats")
class Defeats(MethodView):
    @require("leads.oversee")
    @blp.response(200, DefeatOut(many=True))
    def get(self):
        """Defeats waiting for the manager's decision."""
        p = current_principal()
        with db().session(p.scope) as s:
            return queries.pending_defeats(s)


@blp.route("/defeats/<defeat_id>/decision")
class DefeatDecision(MethodView):
    @require("leads.manage")
    @blp.arguments(DefeatDecisionIn)
    @blp.response(200, DefeatOut)
    def post(self, body, defeat_id):
        """Approve the defeat (published; the call center verifies it) or send it back to the consultant."""
        return in_scope(handlers.decide_defeat, defeat_id, body["approve"], body["note"])


def report_out(s, r: DailyReport) -> dict:
    amendments = reports.amendments_of(s, r)
    return {**{c: getattr(r, c) for c in ("id", "store_id", "owner", "consultant_id", "day", "figures", "note",
                                         "submitted_at", "deadline_at", "late")},
            "effective": reports.effective(s, r), "amendments": amendments}


@blp.route("/reports")
class Reports(MethodView):
    @require("leads.read")
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, ReportOut(many=True))
    def get(self, q):
        """Submitted reports: a consultant's own, a store's, or the group's; by day."""
        p = current_principal()
        with db().session(p.scope) as s:
            return [report_out(s, r) for r in queries.daily_reports(s, q)]

    @require("leads.report")
    @blp.arguments(ReportIn)
    @blp.response(201, ReportOut)
    def post(self, body):
        """Submit a day's report by 18:00 (weekend: Monday 09:30); final once submitted. After the deadline
        it is refused (409 report_closed) unless the store manager reopened the day; then it counts as late."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = handlers.resolve_store(s, p, body["store_id"])
            r = reports.submit(s, p, store.id, body["day"], body["kind"], body["figures"], body["note"])
            return report_out(s, r)


@blp.route("/reports/reopenings")
class Reopenings(MethodView):
    @require("leads.manage")
    @blp.arguments(ReopeningIn)
    @blp.response(201, ReopeningOut)
    def post(self, body):
        """The store manager reopens a report day after its deadline (for a consultant, or the store's
        statistics): one late submission is then accepted (`leads.report.reopened`). Without it a report
        after the deadline is refused (409 report_closed): submitted figures are final and late
        back-filling is not accepted."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = handlers.resolve_store(s, p, body["store_id"])
            return reports.reopen(s, p, store.id, body["day"], body["consultant_id"], body["reason"])


@blp.route("/reports/draft")
class ReportDraft(MethodView):
    @require("leads.report")
    @blp.arguments(DraftQuery, location="query")
    @blp.response(200, DraftOut)
    def get(self, q):
        """The figures counted from the day's logged activities, to pre-fill the report."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = handlers.resolve_store(s, p, q.get("store_id"))
            owner, consultant = reports.owner_of(p, q["kind"])
            return {"day": q["day"], "figures": reports.auto_figures(s, store, q["day"], consultant),
                    "submitted": reports.find_report(s, store.id, owner, q["day"]) is not None}


@blp.route("/reports/<report_id>")
class ReportOne(MethodView):
    @require("leads.read")
    @blp.response(200, ReportOut)
    def get(self, report_id):
        """One report with its amendments and the figures in force."""
        p = current_principal()
        with db().session(p.scope) as s:
            r = s.get(DailyReport, report_id)
            if r is None:
                not_found("report")
            return report_out(s, r)

    @require("leads.report")
    def put(self, report_id):
        """Submitted reports are final: change them with an amendment."""
        fail(409, "a submitted report cannot be edited; POST an amendment with a reason", "locked")

    patch = put


@blp.route("/reports/<report_id>/amendments")
class Amendments(MethodView):
    @require("leads.report")
    @blp.arguments(AmendmentIn)
    @blp.response(201, AmendmentOut)
    def post(self, body, report_id):
        """Amend a submitted report: the original stays; the change is kept beside it with who, when and why.

        A consultant's amendment waits for the store manager (`status: pending`); the manager's own amendment
        of the store's statistics is in force at once."""
        return in_scope(reports.amend, report_id, body["changes"], body["reason"])


@blp.route("/reports/<report_id>/amendments/<amendment_id>/decision")
class AmendmentDecision(MethodView):
    @require("leads.manage")
    @blp.arguments(AmendmentDecisionIn)
    @blp.response(200, AmendmentOut)
    def post(self, body, report_id, amendment_id):
        """The store manager approves a consultant's amendment (then in force) or rejects it, with a note."""
        p = current_principal()
        with db().session(p.scope) as s:
            a = s.get(reports.ReportAmendment, amendment_id)
            if a is None or a.report_id != report_id:
                not_found("amendment")
            return reports.decide_amendment(s, p, amendment_id, body["approve"], body["note"])


@blp.route("/stores/<store_id>/board")
class Board(MethodView):
    @require("leads.oversee")
    @blp.response(200, BoardOut)
    def get(self, store_id):
        """Store board figures: open leads by level, overdue per consultant, SLA breaches, pending defeats."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = s.get(StoreRef, store_id)
            if store is None or not p.scope.sees_store(store_id):
                not_found("store")
            b = queries.board(s, store)
            return {"levels": b["levels"], "overdue_total": b["overdue_total"],
                    "overdue_by_consultant": {k or "": v for k, v in b["overdue"].items()},
                    "sla_breaches": [x.id for x in b["breaches"]],
                    "pending_defeats": [d.id for d in b["pending_defeats"]],
                    "unassigned": [x.id for x in b["unassigned"]]}
