"""Reading a CSV of leads (e.g. an online portal's export), with no database: encoding, columns, rows.

Encoding: UTF-8 (with or without BOM) is read as such. Chinese portals and Excel often save GBK; a
file whose text is not UTF-8 but is valid GB18030 (a superset of GBK and GB2312) is read as GB18030.
Each line is decoded on its own, so a single line in another encoding is one bad row with a clear
reason, not a failed import. UTF-16 and binary files are refused with a message saying what to do.
"""
from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shared.phones import InvalidPhone, normalize

from . import source_key

#: accepted header names per field (English and the usual Chinese column titles)
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "customer", "customer_name", "姓名", "客户姓名", "客户名称", "客户"),
    "phone": ("phone", "mobile", "tel", "手机", "手机号", "电话", "联系电话", "手机号码"),
    "source": ("source", "来源", "线索来源", "客户来源"),
    "model": ("model", "车型", "意向车型"),
    "consultant": ("consultant", "销售顾问", "顾问"),
    "campaign_id": ("campaign", "campaign_id", "活动"),
    "note": ("note", "notes", "备注"),
}


_CN_MOBILE = re.compile(r"(?:\+?86|0086)?(1\d{10})")
_SEPARATORS = str.maketrans("", "", " -()")
_prefix_ok: dict[str, bool] = {}


def normalize_phone(raw: str) -> str:
    """`shared.phones.normalize` with a fast path for the bulk of imports, mainland mobiles.

    Whether a mainland mobile number is valid depends only on its leading digits (the numbering plan
    allocates blocks by prefix), so the verdict of the full check is remembered per 7-digit prefix.
    """
    m = _CN_MOBILE.fullmatch((raw or "").strip().translate(_SEPARATORS))
    if m is None:
        return normalize(raw)
    digits = m.group(1)
    ok = _prefix_ok.get(digits[:7])
    if ok is None:
        try:
            normalize(digits)
            ok = True
        except InvalidPhone:
            ok = False
        _prefix_ok[digits[:7]] = ok
    if not ok:
        return normalize(raw)  # raises with the library's reason
    return "+86" + digits


class FileProblem(ValueError):
    """The file as a whole cannot be read (encoding, no header, missing columns)."""


def detect_encoding(sample: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' from the first bytes of a file; FileProblem otherwise."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in sample:
        raise FileProblem("the file is UTF-16 or binary, not a CSV text file; save it as 'CSV UTF-8'")
    lines = sample.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle of a character
    wide = [ln for ln in lines if any(b > 127 for b in ln)]
    if not wide:
        return "utf-8"
    utf8 = sum(1 for ln in wide if _decodes(ln, "utf-8"))
    if utf8 * 2 >= len(wide):
        return "utf-8"
    gb = sum(1 for ln in wide if _decodes(ln, "gb18030"))
    if gb * 2 >= len(wide):
        return "gb18030"
    raise FileProblem("the file is neither UTF-8 nor GBK/GB18030 text; save it as 'CSV UTF-8'")


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def header_map(header: list[str]) -> dict[str, int]:
    """Field → column index; FileProblem when name or phone is missing."""
    names = [h.strip().lower() for h in header]
    out: dict[str, int] = {}
    for field, aliases in COLUMNS.items():
        for i, n in enumerate(names):
            if n in aliases:
                out[field] = i
                break
    missing = [f for f in ("name", "phone") if f not in out]
    if missing:
        raise FileProblem(f"the header has no column for: {', '.join(missing)} (found: {', '.join(header)})")
    return out


@dataclass(frozen=True)
class RawRow:
    row: int  # as a spreadsheet numbers it: the header is row 1
    cells: list[str]
    bad_encoding: bool


def read_rows(lines: Iterable[bytes], encoding: str) -> tuple[list[str], Iterator[RawRow]]:
    """The header and an iterator of rows, decoding line by line (memory stays flat in the file size)."""
    bad: set[int] = set()
    counter = [0]

    def decoded() -> Iterator[str]:
        for raw in lines:
            counter[0] += 1
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError:
                bad.add(counter[0])
                yield raw.decode(encoding, "replace")

    reader = csv.reader(decoded())
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("the file is empty") from None
    except csv.Error as exc:
        raise FileProblem(f"the header line is not CSV: {exc}") from exc
    if counter[0] in bad:
        raise FileProblem(f"the header is not valid {encoding} text")

    def rows() -> Iterator[RawRow]:
        n = 1
        prev = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n += 1
                yield RawRow(n, [f"\x00{exc}"], False)
                prev = reader.line_num
                continue
            n += 1
            spans_bad = any(i in bad for i in range(prev + 1, reader.line_num + 1))
            prev = reader.line_num
            if not cells or not any(c.strip() for c in cells):
                continue
            yield RawRow(n, cells, spans_bad)

    return header, rows()


def parse_row(raw: RawRow, cols: dict[str, int], sources: tuple[str, ...], default_source: str,
              encoding: str) -> dict | str:
    """A clean lead dict from one row, or the reason the row is rejected."""
    if raw.bad_encoding:
        return f"the row is not valid {encoding.upper()} text (wrong encoding)"
    if raw.cells and raw.cells[0].startswith("\x00"):
        return f"the row is not valid CSV: {raw.cells[0][1:]}"

    def cell(field: str) -> str:
        i = cols.get(field)
        return raw.cells[i].strip() if i is not None and i < len(raw.cells) else ""

    name = cell("name")
    if not name:
        return "name is missing"
    if len(name) > 120:
        return "name is longer than 120 characters"
    try:
        phone = normalize_phone(cell("phone"))
    except InvalidPhone as exc:
        return f"bad phone: {exc}"
    src_text = cell("source")
    source = source_key(src_text, sources) if src_text else default_source
    if source is None:
        return f"unknown source: {src_text!r}"
    model = cell("model")[:80] or None
    return {"name": name, "phone": phone, "source": source, "model": model,
            "consultant": cell("consultant") or None, "campaign_id": cell("campaign_id") or None,
            "note": cell("note")[:500] or None}
