"""The UI sweep: every demo role, every page its navigation offers (and one detail page of each kind), in Chinese.

A page fails the sweep when it (or anything it loads) answers with a status of 400 or more, when the
browser logs a console error or a script throws, or when its visible text carries an English word or
a snake_case code that is not in the short allowlist below. Every page of every role is kept as a
screenshot under test-artifacts/sweep/<role>/ (git-ignored) to look at.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from itertools import chain
from urllib.parse import urlsplit

import pytest

from services.leads.domain.catalogue import STARTER, STARTER_COMPETITORS
from shared.permissions import roles_for
from tests.browser_fixtures import ARTIFACTS, LAUNCH_ARGS
from tests.conftest import DEMO_PASSWORD

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
    "Toyota", "Lexus", "Volkswagen",  # brand names as their makers write them
}
#: two letters or more (the level letters N C B A H O stand alone); a token with a digit in capitals is a
#: plate, a VIN or a model (RAV4, ES300h, ID.4): data, not words
WORD = re.compile(r"(?<![\w.-])(?=[A-Za-z0-9.-]*[A-Za-z]{2})(?![A-Z0-9.-]*\d)[A-Za-z][A-Za-z0-9.-]*[A-Za-z0-9]")
#: the Latin words of the model names the demo's catalogues and competitor list hold, as their makers
#: write them (ES 300h, ID.4 CROZZ, Model Y): data, not words; which of them a page shows depends on the
#: day (this week's top models), so every one of them is allowed
ALLOWED |= {word for series, name, aliases, _price in chain.from_iterable(STARTER.values())
            for text in (series, name, *aliases) for word in WORD.findall(text)}
ALLOWED |= {word for _brand, model in STARTER_COMPETITORS for word in WORD.findall(model)}
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


@dataclass
class Swept:
    """What one role's sweep found: its menu, the kinds of page it opened, what is wrong with them."""

    menu: list[str]
    shapes: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


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


async def _visit(page, watch: _Watch, base: str, path: str, role: str, n: int) -> tuple[list[str], list[str]]:
    """Open a page, keep its screenshot; return what is wrong with it and the links it offers."""
    watch.reset()
    resp = await page.goto(base + path)
    await page.wait_for_load_state("networkidle")
    problems = []
    if resp is None or resp.status >= 400:
        problems.append(f"{path}: status {resp.status if resp else 'none'}")
    problems += [f"{path}: loads {b}" for b in watch.bad] + [f"{path}: console error {e}" for e in watch.errors]
    shots = ARTIFACTS / "sweep" / role
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / f"{n:02d}{re.sub(r'[^A-Za-z0-9]+', '-', path).rstrip('-')}.png"),
                          full_page=True)
    hrefs = await page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    foreign = _foreign_words(await page.evaluate(VISIBLE_TEXT))
    if foreign:
        problems.append(f"{path}: English or codes in the page: {', '.join(foreign)}")
    return problems, [h for h in hrefs if h.startswith("/") and not SKIP.search(h)]


async def _sweep(browser, demo, role: str) -> Swept:
    """One role's sweep in a browser context of its own: log in through the form, then every page."""
    shutil.rmtree(ARTIFACTS / "sweep" / role, ignore_errors=True)  # this run's screenshots only
    ctx = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = await ctx.new_page()
    page.set_default_timeout(60_000)  # a page of six being loaded at once, on a busy 2-core machine
    watch = _Watch(page)
    try:
        await page.goto(f"{demo.url}/identity/login")  # as tests.browser_fixtures.login does, awaited
        await page.fill("input[name=group]", "demo")
        await page.fill("input[name=username]", role)
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_load_state("networkidle")
        menu = await page.eval_on_selector_all("nav.mainnav a", "els => els.map(e => e.getAttribute('href'))")
        swept = Swept(menu=list(menu))
        if not menu:
            return swept
        details = [url for action, url in demo.details.items() if role_of(role) in roles_for(action)]
        queue = list(dict.fromkeys(menu)) + details  # the menu as linked, one record of each kind it shows, then
        menu += details  # every new kind of page they lead to
        while queue:
            href = queue.pop(0)
            path = href if href in menu else urlsplit(href).path
            if _shape(urlsplit(path).path) in swept.shapes:
                continue
            swept.shapes.add(_shape(urlsplit(path).path))
            found, links = await _visit(page, watch, demo.url, path, role, len(swept.shapes))
            swept.problems += found
            queue += [h for h in links if _shape(urlsplit(h).path) not in swept.shapes]
        return swept
    finally:
        await ctx.close()


@pytest.fixture(scope="module")
def swept(demo) -> dict[str, Swept | BaseException]:
    """Every role's sweep, the six at once (each in a browser context of its own), by role; what one role's
    sweep raised stands in for its result. One after the other, most of the sweep's time was spent waiting:
    for `networkidle` (half a second without a request, on every page) and for the screenshots."""
    from playwright.async_api import async_playwright

    async def run() -> list[Swept | BaseException]:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=LAUNCH_ARGS, headless=True)
            try:
                return await asyncio.gather(*(_sweep(browser, demo, role) for role in ROLES), return_exceptions=True)
            finally:
                await browser.close()

    # a thread of its own: the session's synchronous Playwright (the `browser` fixture) holds this one's loop
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(asyncio.run(run())), name="ui-sweep")
    worker.start()
    worker.join()
    assert len(results) == len(ROLES), "the sweep's thread ended without results"
    return dict(zip(ROLES, results, strict=True))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_is_chinese_and_whole(browser, swept, role):  # `browser`: chromium or skip
    result = swept[role]
    if isinstance(result, BaseException):
        raise result
    assert result.menu, f"{role} has no menu"
    kinds = {s for s in result.shapes if "{id}" in s}
    assert kinds, f"{role}: no detail page was reached"
    assert not result.problems, (f"{role}: {len(result.problems)} problem(s) on {len(result.shapes)} pages:\n"
                                 + "\n".join(result.problems))
