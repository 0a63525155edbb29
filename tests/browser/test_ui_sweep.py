"""The UI sweep: every demo role, every page its navigation offers (and one detail page of each kind), in Chinese.

A page fails the sweep when it (or anything it loads) answers with a status of 400 or more, when the
browser logs a console error or a script throws, or when its visible text carries an English word or
a snake_case code that is not in the short allowlist below. Every page of every role is kept as a
screenshot under test-artifacts/sweep/<role>/ (git-ignored) to look at.
"""
from __future__ import annotations

import re
import shutil
import uuid
from urllib.parse import urlsplit

import pytest

from shared.permissions import roles_for
from tests.browser_fixtures import ARTIFACTS, login

pytestmark = pytest.mark.browser

ROLES = ("hq.admin", "hq.analyst", "cc.sup", "cc.agent1", "sh-toyota-pd.manager", "sh-toyota-pd.sales1")
ROLE_OF = {"hq.admin": "group_admin", "hq.analyst": "hq_analyst", "cc.sup": "cc_supervisor", "cc.agent1": "cc_agent",
           "sh-toyota-pd.manager": "store_manager", "sh-toyota-pd.sales1": "sales_consultant"}


def role_of(username: str) -> str:
    return ROLE_OF[username]

#: Latin words that belong on a Chinese page
ALLOWED = {
    "EN",  # the language switch names the other language in its own script
    "VIN", "CSV", "XLSX", "SLA", "NPS", "TACT", "DMS", "DM", "DH", "SMS", "PIPL",  # terms of the trade, as used
    "CRM", "Excel", "UTF-8", "GBK", "km",  # names and units a Chinese page writes in Latin letters too
    "Toyota", "Lexus", "Volkswagen", "Model",  # brand and model names as their makers write them (Model Y)
    "ES", "NX", "RX", "UX", "LM", "LX", "GX",  # Lexus model names (ES 300h)
}
#: two letters or more (the level letters N C B A H O stand alone); a token with a digit in capitals is a
#: plate, a VIN or a model (RAV4, ES300h, ID.4): data, not words
WORD = re.compile(r"(?<![\w.-])(?=[A-Za-z0-9.-]*[A-Za-z]{2})(?![A-Z0-9.-]*\d)[A-Za-z][A-Za-z0-9.-]*[A-Za-z0-9]")
CODE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
#: the text a person reads, less what is typed rather than read: identifiers shown as <code> (usernames,
#: store codes, VINs), keys as <kbd>, and what a template marks translate="no"
VISIBLE_TEXT = """() => {
  document.querySelectorAll("code, kbd, [translate=no]").forEach((el) => { el.style.display = "none"; });
  return document.body.innerText;
}"""
ID_SEGMENT = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|\d+)$")
#: links that are downloads, switches or machine endpoints, not pages
SKIP = re.compile(r"/api/|/export|/lang/|\.csv|\.xlsx|/healthz|/logout|/_shared/|/static/|/s/")


@pytest.fixture(scope="module")
def demo(live_server):
    """The live platform with a few days of demo activity (leads, orders, callbacks, reports), and one record
    of each kind a detail page shows, whatever the hour the activity was seeded at: a lead of sales1's, its
    customer, a complaint about the store. Yields the platform and the detail pages by the action they need."""
    from crm.demo import seed_activity
    from tests.conftest import Api, store_id

    pf = live_server.platform
    counts = seed_activity(pf, days=8, leads_per_store=3)
    assert counts["errors"] == 0, counts["error_samples"]
    api = Api(pf.wsgi())
    phone = f"138{uuid.uuid4().int % 10**8:08d}"
    lead = api.post("/leads/api/v1/leads", as_="sh-toyota-pd.sales1",
                    json={"name": "王建国", "phone": phone, "source": "owner_referral", "model": "凯美瑞"})
    assert lead.status_code == 201, lead.json
    pf.wait_until_consumed()
    found = api.get("/customers/api/v1/customers", as_="hq.admin", query_string={"phone": phone}).json
    complaint = api.post("/callcenter/api/v1/complaints", as_="cc.agent1",
                         json={"store_id": store_id("sh-toyota-pd"), "customer_id": found[0]["id"],
                               "severity": "medium", "summary": "交车时间比约定晚了两天"})
    assert complaint.status_code == 201, complaint.json
    pf.wait_until_consumed()
    live_server.details = {"leads.read": f"/leads/{lead.json['id']}", "customers.read": f"/customers/{found[0]['id']}",
                           "callcenter.complaints.read": f"/callcenter/complaints/{complaint.json['id']}"}
    return live_server


def _shape(path: str) -> str:
    """A page's kind: its path with ids replaced (one page of each kind is enough)."""
    return "/".join("{id}" if ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


def _foreign_words(text: str) -> list[str]:
    words = [w for w in WORD.findall(text) if w not in ALLOWED]
    return sorted(set(words + CODE.findall(text)))


class _Watch:
    """What a page did while loading: answers of 400 or more, console errors, uncaught script errors."""

    def __init__(self, page):
        self.bad: list[str] = []
        self.errors: list[str] = []
        page.on("response", lambda r: self.bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def reset(self) -> None:
        self.bad.clear()
        self.errors.clear()


def _visit(page, watch: _Watch, base: str, path: str, role: str, n: int) -> tuple[list[str], list[str]]:
    """Open a page, keep its screenshot; return what is wrong with it and the links it offers."""
    watch.reset()
    resp = page.goto(base + path)
    page.wait_for_load_state("networkidle")
    problems = []
    if resp is None or resp.status >= 400:
        problems.append(f"{path}: status {resp.status if resp else 'none'}")
    problems += [f"{path}: loads {b}" for b in watch.bad] + [f"{path}: console error {e}" for e in watch.errors]
    shots = ARTIFACTS / "sweep" / role
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{n:02d}{re.sub(r'[^A-Za-z0-9]+', '-', path).rstrip('-')}.png"), full_page=True)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    foreign = _foreign_words(page.evaluate(VISIBLE_TEXT))
    if foreign:
        problems.append(f"{path}: English or codes in the page: {', '.join(foreign)}")
    return problems, [h for h in hrefs if h.startswith("/") and not SKIP.search(h)]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_is_chinese_and_whole(demo, browser, role):
    shutil.rmtree(ARTIFACTS / "sweep" / role, ignore_errors=True)  # this run's screenshots only
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    watch = _Watch(page)
    try:
        login(page, demo.url, role)
        menu = page.eval_on_selector_all("nav.mainnav a", "els => els.map(e => e.getAttribute('href'))")
        assert menu, f"{role} has no menu"
        problems: list[str] = []
        shapes: set[str] = set()
        details = [url for action, url in demo.details.items() if role_of(role) in roles_for(action)]
        queue = list(dict.fromkeys(menu)) + details  # the menu as linked, one record of each kind it shows, then
        menu += details  # every new kind of page they lead to
        while queue:
            href = queue.pop(0)
            path = href if href in menu else urlsplit(href).path
            if _shape(urlsplit(path).path) in shapes:
                continue
            shapes.add(_shape(urlsplit(path).path))
            found, links = _visit(page, watch, demo.url, path, role, len(shapes))
            problems += found
            queue += [h for h in links if _shape(urlsplit(h).path) not in shapes]
        kinds = {s for s in shapes if "{id}" in s}
        assert kinds, f"{role}: no detail page was reached"
        assert not problems, f"{role}: {len(problems)} problem(s) on {len(shapes)} pages:\n" + "\n".join(problems)
    finally:
        ctx.close()
