"""CSV import: good rows in, duplicates and bad rows reported by row number and reason, dry run writes nothing."""
from __future__ import annotations

import io
from datetime import timedelta

from tests.conftest import wait_until
from tests.leads.helpers import LEADS, events, new_lead

PD = "sh-lexus-xh"
MGR = f"{PD}.manager"


def upload(api, data: bytes, **params):
    """Upload, see the job handed to the worker at once (202), then wait for the worker to end it. The
    answer shows the job as it was when it was read back: the worker, woken by the commit, may already
    have taken it, finished it or failed it by then."""
    r = api.post(f"{LEADS}/imports", as_=MGR, query_string=params,
                 data={"file": (io.BytesIO(data), "portal.csv")}, content_type="multipart/form-data")
    assert r.status_code == 202, r.json
    assert r.json["status"] in ("queued", "running", "done", "failed") and r.json["size_bytes"] == len(data)
    return finished(api, r.json["id"])


def finished(api, job: str, timeout: float = 60) -> dict:
    assert wait_until(lambda: api.get(f"{LEADS}/imports/{job}", as_=MGR).json["status"] in ("done", "failed"),
                      timeout), api.get(f"{LEADS}/imports/{job}", as_=MGR).json
    return api.get(f"{LEADS}/imports/{job}", as_=MGR).json


def total(api) -> int:
    return int(api.get(f"{LEADS}/leads", as_=MGR).headers["X-Total-Count"])


def portal_file(existing_phone: str) -> bytes:
    lines = [
        "姓名,手机,来源,意向车型\n".encode(),                        # row 1
        "周一,13812340001,网络/官网,ES\n".encode(),                   # 2 good
        "吴二,+86 138 1234 0002,online,RX\n".encode(),                # 3 good
        "郑三,138-1234-0001,online,ES\n".encode(),                    # 4 duplicate of row 2
        f"王四,{existing_phone},online,NX\n".encode(),                # 5 already a lead of the store
        "冯五,12345,online,ES\n".encode(),                            # 6 bad phone
        "陈六,13812340006,抖音,ES\n".encode(),                        # 7 unknown source
        ",13812340007,online,ES\n".encode(),                          # 8 missing name
        "褚七,13812340008,online,ES\n".encode("gbk"),                 # 9 wrong encoding
        "卫八,13812340009,,UX\n".encode(),                            # 10 good, default source
    ]
    return b"".join(lines)


def test_dry_run_reports_everything_and_writes_nothing_then_the_import_takes_the_good_rows(api, platform):
    existing = new_lead(api, f"{PD}.sales1", phone="13812340005")["phone"]
    data = portal_file("13812340005")
    before, events_before = total(api), len(events(platform, "leads.lead.created"))
    dry = upload(api, data, dry_run="true")
    assert dry["status"] == "done" and dry["dry_run"] and dry["encoding"] == "utf-8"
    assert (dry["rows"], dry["imported"], dry["duplicates"], dry["bad_rows"]) == (9, 3, 2, 4)
    reasons = {e["row"]: e["reason"] for e in dry["errors"]}
    assert set(reasons) == {4, 5, 6, 7, 8, 9}
    assert "earlier in the file" in reasons[4] and "already a lead" in reasons[5] and existing in reasons[5]
    assert reasons[6].startswith("bad phone") and reasons[7].startswith("unknown source")
    assert reasons[8] == "name is missing" and "wrong encoding" in reasons[9]
    assert total(api) == before and len(events(platform, "leads.lead.created")) == events_before

    real = upload(api, data)
    assert (real["imported"], real["duplicates"], real["bad_rows"]) == (3, 2, 4)
    assert total(api) == before + 3
    created = [e for e in events(platform, "leads.lead.created") if e["data"]["phone"] == "+8613812340009"]
    assert len(created) == 1 and created[0]["data"]["source"] == "online" and created[0]["store_id"]
    # the same file again: everything is a duplicate now
    again = upload(api, data)
    assert again["imported"] == 0 and again["duplicates"] == 5


def test_a_gbk_file_from_a_chinese_portal_is_read_as_gb18030(api):
    data = "姓名,电话,来源\n蒋九,13812349001,来店\n沈十,13812349002,来电\n".encode("gbk")
    job = upload(api, data)
    assert job["status"] == "done" and job["encoding"] == "gb18030" and job["imported"] == 2
    r = api.get(f"{LEADS}/leads", as_=MGR, query_string={"q": "13812349001"})
    assert r.json[0]["name"] == "蒋九" and r.json[0]["source"] == "walk_in"


def test_unreadable_files_fail_with_a_clear_message(api):
    job = upload(api, "姓名,手机\n韩一,13812348001\n".encode("utf-16"))
    assert job["status"] == "failed" and "UTF-16" in job["message"]
    job = upload(api, "客户,车型\n韩一,ES\n".encode())
    assert job["status"] == "failed" and "phone" in job["message"]


def test_consultants_cannot_import(api):
    r = api.post(f"{LEADS}/imports", as_=f"{PD}.sales1", data={"file": (io.BytesIO(b"name,phone\n"), "a.csv")},
                 content_type="multipart/form-data")
    assert r.status_code == 403


def test_an_import_cut_off_after_a_chunk_is_resumed_by_the_next_worker_without_a_row_twice_or_lost(
        api, platform, frozen_clock):
    from sqlalchemy import func, select

    from services.leads.handlers import importer
    from services.leads.adapters.models import ImportFileChunk
    from services.leads.entrypoints.worker import ImportQueue

    rt = platform.runtimes["leads"]
    phones = [f"1381235{i:04d}" for i in range(10)]
    data = ("姓名,手机,来源\n" + "".join(f"续{i},{ph},online\n" for i, ph in enumerate(phones))).encode()
    before, events_before = total(api), len(events(platform, "leads.lead.created"))
    principal = platform.apps["leads"].extensions["crm_verifier"].verify(api.token(MGR))
    with rt.db.session(principal.scope) as s:  # queued, and held by a worker (before the platform's can take it)
        job_id = importer.submit(s, principal, None, "big.csv", False, io.BytesIO(data)).id
        assert importer.claim(s, "crashing-worker", job_id=job_id) is not None

    crashing = ImportQueue(rt.db, worker_id="crashing-worker", batch=4)
    crashing.step(job_id, principal.group_id)  # one chunk committed, then the worker's process dies
    del crashing
    job = api.get(f"{LEADS}/imports/{job_id}", as_=MGR).json
    assert (job["status"], job["rows"], job["imported"]) == ("running", 4, 4)
    assert 0 < job["bytes_read"] < job["size_bytes"]  # the page's progress bar
    assert total(api) == before + 4

    frozen_clock.advance(importer.LEASE + timedelta(seconds=1))  # the lease runs out: the platform's worker takes over
    job = finished(api, job_id)
    assert (job["status"], job["rows"], job["imported"], job["duplicates"]) == ("done", 10, 10, 0)
    with rt.db.session(principal.scope) as s:  # the stored file goes when the job ends
        assert s.scalar(select(func.count()).select_from(ImportFileChunk).where(ImportFileChunk.job_id == job_id)) == 0
    assert total(api) == before + 10
    for ph in phones:  # each row once
        assert api.get(f"{LEADS}/leads", as_=MGR, query_string={"q": ph}).headers["X-Total-Count"] == "1"
    assert wait_until(lambda: len(events(platform, "leads.lead.created")) == events_before + 10, 30)


def test_the_api_queues_the_import_and_the_page_lists_it(api, platform):
    r = api.post(f"{LEADS}/imports", as_=MGR, query_string={"dry_run": "true", "filename": "dry.csv"},
                 data="姓名,手机\n韩二,13812347001\n".encode(), content_type="text/csv")
    assert r.status_code == 202 and r.json["status"] in ("queued", "running", "done")
    assert finished(api, r.json["id"])["imported"] == 1
    page = api.get("/leads/import", as_=MGR)
    assert page.status_code == 200 and "dry.csv" in page.get_data(as_text=True)


def test_a_queued_import_wakes_the_leads_worker_at_its_commit_not_at_the_poll(api, platform):
    from services.leads.handlers.importer import IMPORT_CHANNEL
    from shared.wake import Wakeup

    commands = next(w.commands for w in platform.workers if w.runtime.name == "leads")
    fallback, commands.wakeup.fallback = commands.wakeup.fallback, 3600.0  # only a wake-up can start it now
    heard = Wakeup(platform.runtimes["leads"].db.engine, IMPORT_CHANNEL)
    try:
        r = api.post(f"{LEADS}/imports", as_=MGR, query_string={"dry_run": "true", "filename": "woken.csv"},
                     data="姓名,手机\n秦三,13812347002\n".encode(), content_type="text/csv")
        assert r.status_code == 202, r.json
        assert heard.event.is_set()  # the request's commit signalled the worker's channel
        assert finished(api, r.json["id"], timeout=60)["imported"] == 1  # long before the hour's poll
    finally:
        heard.close()
        commands.wakeup.fallback = fallback
