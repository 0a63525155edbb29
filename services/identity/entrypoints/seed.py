"""The demo group (design §7), seeded on first start in embedded mode. Ids are stable (uuid5)."""
from __future__ import annotations

import uuid

from shared import clock
from shared.tenancy import Scope

from .. import domain
from ..handlers import org, users

DEMO_PASSWORD = "demo-pass-2026"
NS = uuid.UUID("6f1c2a4e-5b7d-4c1e-9a55-3d2f0c8b9e11")
BRANDS = [("toyota", "丰田 Toyota"), ("lexus", "雷克萨斯 Lexus"), ("vw", "大众 Volkswagen")]
STORES = [
    ("sh-toyota-pd", "toyota", "上海浦东丰田", "上海"),
    ("sh-toyota-mh", "toyota", "上海闵行丰田", "上海"),
    ("hz-toyota-xs", "toyota", "杭州萧山丰田", "杭州"),
    ("nj-toyota-jn", "toyota", "南京江宁丰田", "南京"),
    ("sh-lexus-xh", "lexus", "上海徐汇雷克萨斯", "上海"),
    ("sh-lexus-pd", "lexus", "上海浦东雷克萨斯", "上海"),
    ("hz-lexus-bj", "lexus", "杭州滨江雷克萨斯", "杭州"),
    ("sz-lexus-yq", "lexus", "苏州园区雷克萨斯", "苏州"),
    ("hz-vw-xh", "vw", "杭州西湖大众", "杭州"),
    ("sh-vw-jd", "vw", "上海嘉定大众", "上海"),
    ("nb-vw-yz", "vw", "宁波鄞州大众", "宁波"),
    ("wx-vw-bh", "vw", "无锡滨湖大众", "无锡"),
]
HQ_USERS = [
    ("hq.admin", "集团管理员 王强", "group_admin"),
    ("hq.analyst", "集团分析师 李娜", "hq_analyst"),
    ("cc.sup", "呼叫中心主管 张敏", "cc_supervisor"),
    ("cc.agent1", "坐席 刘洋", "cc_agent"),
    ("cc.agent2", "坐席 陈静", "cc_agent"),
]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
CONSULTANTS_PER_STORE = 5


def stable_id(kind: str, code: str) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{code}"))


def seed_group(rt, code: str = "demo", name: str = "华东汽车集团", password: str = DEMO_PASSWORD) -> str | None:
    """Create a demo-shaped group (idempotent); returns None when it already exists."""
    with rt.uow(Scope.system()) as uow:
        if org.group_of_code(uow, code) is not None:
            return None
    pw_hash = domain.hash_password(password)
    gid = stable_id("group", code)
    with rt.uow(Scope.system()) as uow:
        org.create_group(uow, code, name, clock.zone_name(), group_id=gid)
        brand_ids = {}
        for bcode, bname in BRANDS:
            brand_ids[bcode] = org.create_brand(uow, None, gid, bcode, bname, stable_id("brand", f"{code}/{bcode}")).id
        for username, uname, role in HQ_USERS:
            users.create_user(uow, None, gid, username, uname, role, "", password_hash=pw_hash)
        n = 0
        for scode, bcode, sname, city in STORES:
            st = org.create_store(uow, None, gid, brand_ids[bcode], scode, sname, city,
                                  store_id=stable_id("store", f"{code}/{scode}"))
            users.create_user(uow, None, gid, f"{scode}.manager", f"{sname}展厅经理", "store_manager", "",
                              store_id=st.id, password_hash=pw_hash)
            for i in range(1, CONSULTANTS_PER_STORE + 1):
                n += 1
                users.create_user(uow, None, gid, f"{scode}.sales{i}", f"{SURNAMES[n % len(SURNAMES)]}顾问{i}",
                                  "sales_consultant", "", store_id=st.id, password_hash=pw_hash)
        uow.commit()
    return gid


def seed_demo(rt) -> str:
    gid = seed_group(rt)
    return "demo group created" if gid else "demo group already present"
