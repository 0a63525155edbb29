"""The project's one generator of domain data: the demo (`crm.demo`), the benches (`bench/`) and the tests'
data helpers draw their values here, deterministically from a seed.

Where it sits: under `crm/`, the platform's package, because its values are the services' own — the demo
group's org tree (`services.identity.entrypoints.seed`), the brands' starter model catalogues and the
competitor list (`services.leads.domain.catalogue`), the lead sources, levels, signals, cadences and
defeat reasons (`services.leads.domain`) — and `shared` may import no service. No service imports it
(an import contract in pyproject.toml): services produce their data from their users, never from here.

- this module: the values, and `People` (Faker zh_CN names; valid, unique Chinese mobile numbers; VINs
  by brand; plates), all drawn from one `random.Random` so that a seed gives the same data;
- `crm.datagen.events`: a group's event history in wire form (what the bus carries), for analytics'
  tests, its bench and the embedded demo's history;
- `crm.demo` / `crm.demo_story`: the demo's activity through the services' HTTP APIs, drawing from here.
"""
from __future__ import annotations

import random
from itertools import accumulate
from dataclasses import dataclass

from faker import Faker

from services.identity.entrypoints.seed import BRANDS, CONSULTANTS_PER_STORE, STORES, SURNAMES
from services.leads.domain import DEFAULT_CADENCE, DEFEAT_REASONS, PAYMENT_METHODS, SIGNALS, SOURCES as SOURCE_LABELS
from services.leads.domain import channel_of
from services.leads.domain.catalogue import STARTER, STARTER_COMPETITORS

__all__ = ["BRANDS", "CADENCE", "CONSULTANTS_PER_STORE", "COMPETITORS", "DEFEAT_REASONS", "MODELS", "PAYMENT_METHODS", "SOURCES",
           "STORES", "People", "all_models", "channel_of", "numbered_phone", "phone", "plate", "vin"]

#: the models each brand sells, with guide prices (¥): the starter catalogues HQ loads (leads refuses a model
#: outside a brand's catalogue once it keeps one)
MODELS: dict[str, list[tuple[str, int]]] = {brand: [(name, price) for _, name, _, price in models]
                                            for brand, models in STARTER.items()}
#: (brand, model) a defeated lead names: the starter competitor list
COMPETITORS: list[tuple[str, str]] = list(STARTER_COMPETITORS)
#: lead sources (domain.md's 顾客来源, the leads service's keys) with how often a dealer sees each
SOURCES: list[tuple[str, int]] = [
    ("walk_in", 26), ("phone_in", 14), ("online", 16), ("owner_referral", 8), ("owner_replacement", 6),
    ("advertising", 6), ("event", 8), ("internal_referral", 4), ("informant", 2), ("targeted_prospecting", 2),
    ("area_canvassing", 2), ("service_customer", 6)]
assert {s for s, _ in SOURCES} == set(SOURCE_LABELS), "every lead source of the leads service, and only those"
#: the follow-up cadence in days per level that leads applies by default
CADENCE = dict(DEFAULT_CADENCE)
#: the signals a consultant ticks when grading to a level (the leads service's checklist, the common ones)
LEVEL_SIGNALS = {"C": ["looked_and_left", "took_brochure", "compared_competitors"],
                 "B": ["qualified_buyer", "hesitating_between_models"],
                 "A": ["says_will_buy", "deciding_between_models"],
                 "H": ["terms_negotiated", "purchase_date_fixed", "next_meeting_booked"]}
assert all(set(sigs) <= set(SIGNALS[level]) for level, sigs in LEVEL_SIGNALS.items())
RANK = {"N": 0, "C": 1, "B": 2, "A": 3, "H": 4}
#: vehicle identification: world manufacturer identifiers of the brands' Chinese and imported cars
WMI = {"toyota": ["LVG", "LFM"], "lexus": ["JTH", "JTJ"], "vw": ["LSV", "LFV"]}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
#: Chinese mobile prefixes (China Mobile, Unicom, Telecom): every number drawn is valid for `shared.phones`
PHONE_PREFIXES = ["133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186", "188", "189"]
COLOURS = ["珍珠白", "曜石黑", "铂金银", "深海蓝", "宝石红", "钛金灰"]
INSURERS = ["中国人保", "平安保险", "太平洋保险", "中华联合", "大地保险"]
NOTES = ["周末带家人再来看车", "关注油耗和保值率", "想要现车", "对比了竞品", "预算有限，关注金融方案",
         "置换旧车，想了解评估价", "公司用车", "首购，第一辆车"]
CANCEL_REASONS = ["客户资金周转困难，退订", "家人意见不一致，暂缓购车", "改订其他车型", "等待的颜色交期太长"]
PLATE_REGIONS = ("沪", "浙", "苏")


def all_models() -> list[str]:
    """Every catalogue model of every brand."""
    return [name for models in MODELS.values() for name, _ in models]


_SOURCE_KEYS = [s for s, _ in SOURCES]
_SOURCE_CUM = list(accumulate(w for _, w in SOURCES))  # what `choices` makes of the weights on every call


def weighted_source(rng: random.Random) -> str:
    return rng.choices(_SOURCE_KEYS, cum_weights=_SOURCE_CUM)[0]


def phone(rng: random.Random, used: set[str] | None = None) -> str:
    """An 11-digit Chinese mobile number (national form), not in `used` (which it joins)."""
    while True:
        p = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if used is None:
            return p
        if p not in used:
            used.add(p)
            return p


def numbered_phone(i: int, prefix: str = "139") -> str:
    """The `i`th number of a prefix (national form): for data too large to keep a set of the numbers used —
    a bench finds customer `i` again by its number, and two prefixes never meet."""
    assert prefix in PHONE_PREFIXES and 0 <= i < 10**8
    return f"{prefix}{i:08d}"


def vin(rng: random.Random, brand: str) -> str:
    """A 17-character VIN of the brand's manufacturers (no I, O or Q)."""
    return rng.choice(WMI.get(brand, WMI["toyota"])) + "".join(rng.choice(VIN_CHARS) for _ in range(14))


def plate(rng: random.Random) -> str:
    return rng.choice(PLATE_REGIONS) + rng.choice("ABCDEFG") + f"{rng.randrange(10**5):05d}"


def consultant_name(n: int, i: int) -> str:
    """The seeded demo's name of the `i`th consultant (the `n`th of the group): as identity's seed names them."""
    return f"{SURNAMES[n % len(SURNAMES)]}顾问{i}"


@dataclass
class People:
    """Customers for a seed: Faker zh_CN names and unique valid mobile numbers (national or E.164).

    `pool` names are made once and then drawn from (Faker takes ~50 µs a name; a bench making a million
    customers draws from the pool)."""

    seed: int = 2026
    pool: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(self.seed)
        self.used: set[str] = set()
        self.names = [self.fake.name() for _ in range(self.pool)]

    def name(self) -> str:
        return self.rng.choice(self.names) if self.names else self.fake.name()

    def phone(self) -> str:
        return phone(self.rng, self.used)

    def e164(self) -> str:
        return "+86" + self.phone()

    def vin(self, brand: str) -> str:
        return vin(self.rng, brand)

    def plate(self) -> str:
        return plate(self.rng)
