"""Readers for AS classification sources: CAIDA as2types and PeeringDB network records.

    records, report = read_asn_types(Path("20210401.as2types.txt.gz"))
    for rec in records:   # AsnType(asn, network_type, name); the report fills while reading
        ...

Formats: "caida" (CAIDA AS classification, `as|source|type` lines with '#' comments) and
"peeringdb" (the JSON of https://www.peeringdb.com/api/net, or a PeeringDB dump holding it
under "net"). Files may be gzip-compressed. Bad rows are counted with examples; a file that is
neither format raises DatasetError before the first record.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spoor.identify.datasets import DatasetError
from spoor.identify.datasets.base import (
    MAX_BAD_EXAMPLES,
    PROBE_ROWS,
    READ_ERRORS,
    decode_line,
    open_binary,
    open_text,
    read_error,
)
from spoor.identify.ipdb import AsnType

__all__ = ["ASN_FORMATS", "AsnReadReport", "AsnType", "detect_asn_format", "read_asn_types"]

ASN_FORMATS = ("caida", "peeringdb")
# The classifier maps these exact spellings (case-insensitively); anything else is a bad row.
CAIDA_TYPES = {t.lower(): t for t in ("Transit/Access", "Content", "Enterprise")}
SNIFF_BYTES = 16 * 1024
_MAX_ASN = 0xFFFF_FFFF
_COMMENT_META = re.compile(r"#\s*([A-Za-z][\w-]*)\s*:\s*(.*\S)")
_CAIDA_ROW = re.compile(r"\s*(AS)?\d+\s*\|", re.IGNORECASE)
# PeeringDB net objects carry ~40 fields; keeping only these bounds memory for the full list.
_PDB_KEEP = ("asn", "name", "info_type", "info_types")


@dataclass
class AsnReadReport:
    """What reading one classification file found. Filled while records are consumed."""

    format: str
    records: int = 0
    bad_rows: int = 0
    bad_examples: list[tuple[int, str]] = field(default_factory=list)  # (line or entry, reason)
    skipped: int = 0  # well-formed entries that classify nothing (empty PeeringDB info_type)
    metadata: dict[str, str] = field(default_factory=dict)
    complete: bool = False

    def add_bad(self, where: int, reason: str) -> None:
        self.bad_rows += 1
        if len(self.bad_examples) < MAX_BAD_EXAMPLES:
            self.bad_examples.append((where, reason))


def read_asn_types(path: Path, fmt: str | None = None) -> tuple[Iterator[AsnType], AsnReadReport]:
    """Open a classification file; DatasetError if it is unreadable or of neither format."""
    path = Path(path)
    name = fmt or detect_asn_format(path)
    if name not in ASN_FORMATS:
        raise DatasetError(f"unknown AS type format {name!r}; known: {', '.join(ASN_FORMATS)}")
    report = AsnReadReport(format=name, metadata={"filename": path.name})
    reader = _read_caida if name == "caida" else _read_peeringdb
    records = reader(path, report)
    # Running up to the first record raises "not this format" before we return.
    first = next(records, None)
    return (iter(()) if first is None else itertools.chain((first,), records)), report


def detect_asn_format(path: Path) -> str:
    """ "caida" or "peeringdb", from the content (the file name does not matter)."""
    try:
        with open_binary(path) as fh:
            head = fh.read(SNIFF_BYTES)
    except (*READ_ERRORS, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read (corrupt or truncated?): {exc}") from exc
    text = decode_line(head).lstrip("\ufeff \t\r\n")
    if not text:
        raise DatasetError(f"{path}: empty file")
    if text[0] in "{[":
        return "peeringdb"
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and _CAIDA_ROW.match(lines[0]):
        return "caida"
    first = (lines or text.splitlines())[0][:60]
    raise DatasetError(
        f"{path}: neither a CAIDA as2types file ('asn|source|type' lines) nor PeeringDB "
        f"network JSON (first line {first!r})"
    )


def _parse_asn(value: Any) -> int:
    text = str(value).strip()
    if text[:2].upper() == "AS":
        text = text[2:]
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
        raise ValueError(f"bad AS number {str(value)[:40]!r}")
    asn = int(text)
    if not 0 < asn <= _MAX_ASN:
        raise ValueError(f"AS number out of range: {asn}")
    return asn


def _probe(path: Path, report: AsnReadReport, good: int) -> None:
    # Ten bad rows and not one good one: the file is not of this format at all.
    if good == 0 and report.bad_rows >= PROBE_ROWS:
        where, reason = report.bad_examples[0]
        raise DatasetError(
            f"{path}: not a valid {report.format} file: none of the first {PROBE_ROWS} rows "
            f"parse (line {where}: {reason})"
        )


def _finish(path: Path, report: AsnReadReport, good: int) -> None:
    if good == 0 and report.bad_examples:
        where, reason = report.bad_examples[0]
        raise DatasetError(
            f"{path}: not a valid {report.format} file: no row parses (line {where}: {reason})"
        )
    if good == 0:
        raise DatasetError(f"{path}: no {report.format} data rows found")
    report.complete = True


def _read_caida(path: Path, report: AsnReadReport) -> Iterator[AsnType]:
    good = lineno = 0
    try:
        with open_text(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                line = raw.strip()
                if line.startswith("#"):
                    if (meta := _COMMENT_META.match(line)) and len(report.metadata) < 20:
                        report.metadata.setdefault(meta.group(1).lower(), meta.group(2)[:200])
                    continue
                if not line:
                    continue
                parts = line.split("|")
                try:
                    if len(parts) < 3:
                        raise ValueError(f"expected asn|source|type, got {line[:60]!r}")
                    asn = _parse_asn(parts[0])
                    kind = CAIDA_TYPES.get(parts[2].strip().lower())
                    if kind is None:
                        raise ValueError(f"unknown AS type {parts[2].strip()[:40]!r}")
                except ValueError as exc:
                    report.add_bad(lineno, str(exc))
                    _probe(path, report, good)
                    continue
                good += 1
                report.records += 1
                yield AsnType(asn, kind)
    except READ_ERRORS as exc:
        raise read_error(path, lineno, exc) from exc
    _finish(path, report, good)


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj[k] for k in _PDB_KEEP if k in obj} if "asn" in obj else obj


def _read_peeringdb(path: Path, report: AsnReadReport) -> Iterator[AsnType]:
    try:
        with open_binary(path) as fh:
            doc = json.load(fh, object_hook=_slim)
    except READ_ERRORS as exc:
        raise DatasetError(f"{path}: cannot read (truncated or corrupt?): {exc}") from exc
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
        raise DatasetError(f"{path}: not valid JSON: {exc}") from exc
    entries = _net_entries(doc)
    if entries is None:
        raise DatasetError(
            f"{path}: JSON, but not PeeringDB networks (expected {{'data': [...]}} from "
            "/api/net or a dump with {'net': {'data': [...]}})"
        )
    generated = doc.get("meta", {}).get("generated") if isinstance(doc, dict) else None
    if isinstance(generated, int | float) and not isinstance(generated, bool):
        report.metadata["generated"] = str(generated)
    good = 0
    for index, entry in enumerate(entries, 1):
        try:
            rec = _pdb_entry(entry)
        except ValueError as exc:
            report.add_bad(index, str(exc))
            _probe(path, report, good)
            continue
        good += 1
        if rec is None:
            report.skipped += 1
            continue
        report.records += 1
        yield rec
    _finish(path, report, good)


def _net_entries(doc: Any) -> list[Any] | None:
    if isinstance(doc, dict) and isinstance(doc.get("net"), dict):
        doc = doc["net"]  # PeeringDB dump: one {"data": [...]} per object type
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"]  # type: ignore[no-any-return]
    return None


def _pdb_entry(entry: Any) -> AsnType | None:
    if not isinstance(entry, dict) or "asn" not in entry:
        raise ValueError("entry without an asn field")
    asn = _parse_asn(entry["asn"])
    kind = entry.get("info_type") or ""
    if not kind and isinstance(entry.get("info_types"), list) and entry["info_types"]:
        kind = entry["info_types"][0]  # newer API: a multiple choice next to info_type
    if not isinstance(kind, str):
        raise ValueError(f"AS{asn}: info_type is not text")
    name = entry.get("name")
    if not kind.strip():
        return None
    return AsnType(
        asn, kind.strip()[:64], (name.strip() or None) if isinstance(name, str) else None
    )
