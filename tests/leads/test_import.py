"""CSV import: good rows in, duplicates and bad rows reported by row number and reason, dry run writes nothing."""
from __future__ import annotations

import io
from datetime import timedelta

from tests.conftest import wait_until
from tests.leads.helpers import LEADS, events, new_lead

PD = "sh-lexus-xh"
MGR = f"{PD}.manager"


def upload(api, data: bytes, **params):
    r = api.post(f"{LEADS}/imports", as_=MGR, query_string=params,
                 data={"file": (io.BytesIO(data), "portal.csv")}, content_type="multipart/form-data")
    assert r.status_code == 202, r.json
    job = r.json["id"]
    assert wait_until(lambda: api.get(f"{LEADS}/imports/{job}", as_=MGR).json["status"] in ("done", "failed"), 20)
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
    again = upload(api, data, sync="true")
    assert again["imported"] == 0 and again["duplicates"] == 5


def test_a_gbk_file_from_a_chinese_portal_is_read_as_gb18030(api):
    data = "姓名,电话,来源\n蒋九,13812349001,来店\n沈十,13812349002,来电\n".encode("gbk")
    job = upload(api, data, sync="true")
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


def test_an_import_cut_off_by_a_restart_says_so_instead_of_running_forever(api, platform, frozen_clock):
    from services.leads.handlers import importer

    verifier = platform.apps["leads"].extensions["crm_verifier"]
    principal = verifier.verify(api.token(MGR))  # the manager, as the API sees them
    with platform.runtimes["leads"].db.session(principal.scope) as s:  # the upload was accepted, then the process died
        job_id = importer.start(s, principal, None, "portal.csv", dry_run=False, size=100).id

    assert api.get(f"{LEADS}/imports/{job_id}", as_=MGR).json["status"] == "queued"
    frozen_clock.advance(importer.STALLED + timedelta(minutes=1))
    job = api.get(f"{LEADS}/imports/{job_id}", as_=MGR).json
    assert job["status"] == "interrupted" and job["finished_at"]
    assert "Upload the file again" in job["message"]
    page = api.get("/leads/import", as_=MGR)
    assert page.status_code == 200 and ">已中断<" in page.get_data(as_text=True)  # the status in the reader's words
