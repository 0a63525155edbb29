"""The vehicle model catalogue and the competitor list, with no database: matching a typed name to a
catalogue entry, reading a catalogue file (CSV or XLSX), and the starter lists HQ may load.

A name matches an entry when it equals the entry's name or one of its aliases once case, spaces and
punctuation are ignored ("rav4", "RAV4 " and "RAV-4" are one key). A brand without a catalogue takes
any name (a group starts with no catalogue); once HQ keeps one, a name it does not know is refused.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

_PUNCT = re.compile(r"[\s\-_.·/()（）]+")

#: accepted header names of a catalogue file (English and Chinese)
CATALOGUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "series": ("series", "车系"),
    "name": ("model", "name", "车型", "车型名称"),
    "aliases": ("aliases", "alias", "别名", "其他名称"),
    "guide_price": ("guide_price", "price", "指导价"),
}


def model_key(name: str) -> str:
    """The form two names are compared in: NFKC, lower case, no spaces or punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", name or "")).lower()


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    series: str
    aliases: tuple[str, ...] = ()


@dataclass
class Resolver:
    """A brand's catalogue, ready to map typed names (built once per request or import batch)."""

    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key: dict[str, Entry] = {}
        for e in self.entries:
            for n in (e.name, *e.aliases):
                self._by_key.setdefault(model_key(n), e)

    @property
    def kept(self) -> bool:
        """The brand has a catalogue: names must be found in it."""
        return bool(self.entries)

    def find(self, name: str | None) -> Entry | None:
        return self._by_key.get(model_key(name or "")) if name else None

    def resolve(self, name: str | None) -> tuple[Entry | None, str | None]:
        """(the entry, None) for a known name; (None, None) for a blank one or a brand with no catalogue;
        (None, reason) for a name the catalogue does not know."""
        if not name or not name.strip() or not self.kept:
            return None, None
        entry = self.find(name)
        if entry is None:
            return None, f"unknown model: {name.strip()!r} is not in the brand's catalogue"
        return entry, None


class CatalogueFileProblem(ValueError):
    """The file as a whole cannot be read (not a row's problem)."""


def read_table(filename: str, raw: bytes) -> list[list[str]]:
    """The cells of a CSV (UTF-8 or GB18030) or XLSX file, header first."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            ws = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises a zoo of errors for a file that is no workbook
            raise CatalogueFileProblem("the file is not an XLSX workbook") from exc
        return [["" if c is None else str(c).strip() for c in row] for row in ws.iter_rows(values_only=True)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CatalogueFileProblem("the file is neither UTF-8 nor GBK text")
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise CatalogueFileProblem(f"the file is not CSV: {exc}") from exc


def parse_catalogue(table: list[list[str]]) -> tuple[list[dict], list[dict]]:
    """(rows to keep, errors) from a catalogue table: each row a series, a model name, aliases split on
    '|' or '、', an optional guide price; errors name the spreadsheet row (the header is row 1)."""
    if not table:
        raise CatalogueFileProblem("the file is empty")
    header = [h.strip().lower() for h in table[0]]
    cols = {f: next((i for i, h in enumerate(header) if h in names), None) for f, names in CATALOGUE_COLUMNS.items()}
    if cols["name"] is None:
        raise CatalogueFileProblem("the header has no model column (model or 车型)")
    rows, errors, seen = [], [], set()
    for n, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(f: str, cells=cells) -> str:
            i = cols[f]
            return cells[i].strip() if i is not None and i < len(cells) else ""

        name = cell("name")[:80]
        if not name:
            errors.append({"row": n, "reason": "the model name is missing"})
            continue
        if model_key(name) in seen:
            errors.append({"row": n, "reason": f"{name!r} appears earlier in the file"})
            continue
        seen.add(model_key(name))
        price = None
        if cell("guide_price"):
            try:
                price = Decimal(cell("guide_price").replace(",", ""))
            except InvalidOperation:
                errors.append({"row": n, "reason": f"the guide price {cell('guide_price')!r} is not a number"})
                continue
        aliases = [a.strip()[:80] for a in re.split(r"[|、;；]", cell("aliases")) if a.strip()]
        rows.append({"row": n, "series": cell("series")[:80] or name, "name": name, "aliases": aliases,
                     "guide_price": price})
    return rows, errors


#: starter catalogues by brand code (series, model, aliases, guide price ¥): HQ loads one with a click
#: and keeps it from there; the demo group's brands use them
STARTER: dict[str, list[tuple[str, str, tuple[str, ...], int]]] = {
    "toyota": [("凯美瑞", "凯美瑞", ("Camry", "凯美瑞 双擎"), 189800), ("卡罗拉", "卡罗拉", ("Corolla",), 119800),
               ("RAV4荣放", "RAV4荣放", ("RAV4", "荣放"), 179800), ("汉兰达", "汉兰达", ("Highlander",), 269800),
               ("亚洲龙", "亚洲龙", ("Avalon",), 209800)],
    "lexus": [("ES", "ES 300h", ("ES", "ES300h"), 329000), ("RX", "RX 350h", ("RX", "RX350h"), 479000),
              ("NX", "NX 260", ("NX", "NX260"), 299000), ("UX", "UX 260h", ("UX", "UX260h"), 259000)],
    "vw": [("帕萨特", "帕萨特", ("Passat",), 189900), ("途观", "途观L", ("Tiguan L", "途观"), 219900),
           ("朗逸", "朗逸", ("Lavida",), 109900), ("迈腾", "迈腾", ("Magotan",), 199900),
           ("ID.", "ID.4 CROZZ", ("ID.4", "ID4", "ID.4 Pro"), 199900)],
}

#: the starter competitor list (brand, model): what defeats in the demo group name
STARTER_COMPETITORS: list[tuple[str, str]] = [
    ("本田", "雅阁"), ("日产", "天籁"), ("别克", "君越"), ("比亚迪", "汉"), ("特斯拉", "Model Y"), ("宝马", "3系"),
    ("奔驰", "C级")]


def competitor_problem(listed: list[tuple[str, str]], brand: str | None, model: str | None) -> str | None:
    """Why a defeat's competitor is not on the group's list (None: fine, or the group keeps no list)."""
    if not listed or not brand:
        return None
    models = {m for b, m in listed if b == brand.strip()}
    if not models:
        return f"{brand!r} is not on the competitor list"
    if model and model.strip() and model.strip() not in models and models != {""}:
        return f"{model!r} is not on the competitor list for {brand}"
    return None
