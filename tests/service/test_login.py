"""Login under attack and under load: throttled per account name and per client address, unknown and
locked accounts answered alike, and no database lock held while a password is checked."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.test import Client

from services.identity import domain
from services.identity.entrypoints.seed import CONSULTANTS_PER_STORE, STORES
from tests.conftest import DEMO_PASSWORD, wait_until


def _address() -> str:
    """A client address of its own per test, so that one test's failures never throttle another's."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}"


def _login(platform, username: str, password: str = DEMO_PASSWORD, address: str = "10.0.0.1", group: str = "demo"):
    return Client(platform.wsgi()).post("/identity/api/v1/auth/login", environ_base={"REMOTE_ADDR": address},
                                        json={"group": group, "username": username, "password": password})


@pytest.fixture
def spy(monkeypatch):
    """Records every password check (the hash it was given) and still checks it."""
    calls: list[str | None] = []
    real = domain.verify_password

    def checked(hashed, password):
        calls.append(hashed)
        return real(hashed, password)

    monkeypatch.setattr(domain, "verify_password", checked)
    return calls


def test_thirty_parallel_logins_get_answers_and_no_server_error(platform):
    users = [f"{code}.sales{i}" for code, *_ in STORES for i in range(1, CONSULTANTS_PER_STORE + 1)][:30]
    address = _address()
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda u: _login(platform, u, address=address).status_code, users))
    assert answers == [200] * 30


def test_a_login_checking_its_password_holds_no_database_lock(platform, api, monkeypatch):
    """While one login's password is being checked, other writes to identity's database go through."""
    real, checking, writes = domain.verify_password, threading.Event(), {}

    def slow_check(hashed, password):
        if password == "the-slow-one":
            checking.set()
            writes["done_meanwhile"] = wait_until(lambda: "status" in writes, timeout=20, interval=0.05)
        return real(hashed, password)

    monkeypatch.setattr(domain, "verify_password", slow_check)
    victim = next(u for u in api.get("/identity/api/v1/users", as_="hq.admin").json if u["username"] == "hz-vw-xh.sales3")

    def other_write():
        checking.wait(20)
        r = api.patch(f"/identity/api/v1/users/{victim['id']}", as_="hq.admin", json={"on_duty": True})
        writes["status"] = r.status_code

    writer = threading.Thread(target=other_write)
    writer.start()
    assert _login(platform, "hz-vw-xh.sales3", "the-slow-one", _address()).status_code == 401
    writer.join(60)
    assert writes.get("done_meanwhile") and writes["status"] == 200


def test_unknown_and_locked_accounts_get_the_same_answer_after_the_same_work(platform, spy):
    address = _address()
    real, unknown = "nj-toyota-jn.sales4", f"nobody-{uuid.uuid4().hex[:6]}"
    for name in (real, unknown):
        for _ in range(domain.ACCOUNT.limit):
            assert _login(platform, name, "wrong-password", address).status_code == 401
    spy.clear()
    locked = _login(platform, real, DEMO_PASSWORD, address)  # even the right password
    no_such = _login(platform, unknown, DEMO_PASSWORD, address)
    assert locked.status_code == no_such.status_code == 429
    assert locked.json == no_such.json and locked.json["code"] == "locked"
    assert int(locked.headers["Retry-After"]) > 0 and int(no_such.headers["Retry-After"]) > 0
    assert spy == [None, None]  # one check each, against the dummy hash: the same cost


def test_a_wrong_password_and_an_unknown_user_cost_the_same(platform, spy):
    address = _address()
    assert _login(platform, "sh-vw-jd.sales2", "wrong-password", address).status_code == 401
    assert _login(platform, f"nobody-{uuid.uuid4().hex[:6]}", "wrong-password", address).status_code == 401
    assert len(spy) == 2 and spy[0] is not None and spy[1] is None


def test_failed_logins_from_one_address_shut_it_out_for_a_while(platform):
    address, elsewhere = _address(), _address()
    for i in range(domain.ADDRESS.limit):  # a different name each time: no account reaches its own limit
        assert _login(platform, f"guess-{i}-{uuid.uuid4().hex[:4]}", "wrong-password", address).status_code == 401
    r = _login(platform, "hq.analyst", DEMO_PASSWORD, address)  # not even the right password gets through
    assert r.status_code == 429 and r.json["code"] == "locked"
    assert 0 < int(r.headers["Retry-After"]) <= domain.ADDRESS.lockout.total_seconds()
    assert _login(platform, "hq.analyst", DEMO_PASSWORD, elsewhere).status_code == 200


def test_the_login_page_says_when_to_try_again(platform):
    import re

    address = _address()
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    for _ in range(domain.ACCOUNT.limit):
        assert _login(platform, name, "wrong-password", address).status_code == 401
    c = Client(platform.wsgi())
    html = c.get("/identity/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = c.post("/identity/login", environ_base={"REMOTE_ADDR": address},
               data={"group": "demo", "username": name, "password": "x", "csrf_token": token})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "15" in r.get_data(as_text=True) and c.get_cookie("crm_token") is None


def test_the_admin_sees_a_locked_account_and_unlocks_it(platform, api):
    address, name = _address(), "wx-vw-bh.sales2"
    for _ in range(domain.ACCOUNT.limit):
        _login(platform, name, "wrong-password", address)
    assert _login(platform, name, DEMO_PASSWORD, address).status_code == 429
    user = api.get(f"/identity/api/v1/users?q={name}", as_="hq.admin").json[0]
    assert user["locked"] is True
    r = api.post(f"/identity/api/v1/users/{user['id']}/unlock", as_="hq.admin")
    assert r.status_code == 200 and r.json["locked"] is False
    assert _login(platform, name, DEMO_PASSWORD, address).status_code == 200


def test_only_the_group_admin_unlocks_or_resets(api):
    user = api.get("/identity/api/v1/users?q=sh-toyota-pd.sales3", as_="hq.admin").json[0]
    for who in ("hq.analyst", "sh-toyota-pd.manager"):
        assert api.post(f"/identity/api/v1/users/{user['id']}/unlock", as_=who).status_code == 403
        assert api.post(f"/identity/api/v1/users/{user['id']}/password-reset", as_=who,
                        json={"password": "a-long-password-1"}).status_code == 403


def test_a_group_code_that_names_no_group_is_refused_and_its_failures_still_count(platform):
    """A login whose group code is unknown runs in a scope that sees no group's rows: a real username with
    its right password is refused like any wrong guess, and the failures still count against the address."""
    address = _address()
    for _ in range(domain.ADDRESS.limit):  # a new group code each time: no account name reaches its own limit
        r = _login(platform, "hq.analyst", DEMO_PASSWORD, address, group=f"no-{uuid.uuid4().hex[:6]}")
        assert r.status_code == 401 and "access_token" not in r.json
    assert _login(platform, "hq.analyst", DEMO_PASSWORD, address).status_code == 429  # the address is shut out
