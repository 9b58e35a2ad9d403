"""Writing an export (``sellsync export PATH``): each table as JSON Lines and CSV, and
``manifest.json`` with every file's record count, size and sha256, into a folder or a ``.zip``.

Records are streamed: each table's JSON Lines file is written as its records are read, noting
the columns met on the way (nested objects such as ``address`` become ``address.city``); the CSV
is then written from that file, so no table is ever held in memory and Sell is read once. CSV
cells go through :func:`bot.terminal.csv_cell`, as ``sellsync audit --csv`` does: a value that
starts like a formula is shown as text by a spreadsheet, never evaluated.

A ``.zip`` is built in a temporary folder beside it and moved into place once complete; a
folder is filled in place. A path that exists and is not empty is refused unless ``force``
(files of the same name are then replaced; other files are left alone).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.terminal import csv_cell
from sync.api import ExportTable, Refused

MANIFEST = "manifest.json"
FORMAT = "sellsync-export"
VERSION = 1
CHUNK = 1 << 16


@dataclass(frozen=True)
class ExportedFile:
    path: str  # relative to the export's root
    sha256: str
    bytes: int


@dataclass
class ExportedTable:
    name: str
    source: str
    records: int = 0
    files: list[ExportedFile] = field(default_factory=list)


@dataclass
class ExportResult:
    path: Path
    zipped: bool
    tables: list[ExportedTable]

    def records(self, source: str | None = None) -> int:
        return sum(t.records for t in self.tables if source is None or t.source == source)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"address": {"city": "X"}}`` → ``{"address.city": "X"}``; lists and empty objects
    stay whole (a CSV cell shows them as JSON)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _described(root: Path, name: str) -> ExportedFile:
    path = root / name
    return ExportedFile(name, sha256_of(path), path.stat().st_size)


def _write_table(
    root: Path, table: ExportTable, progress: Callable[[str, int], None]
) -> ExportedTable:
    out = ExportedTable(table.name, table.source)
    columns: dict[str, None] = {}  # first-seen order
    jsonl = f"{table.name}.jsonl"
    with (root / jsonl).open("w", encoding="utf-8", newline="\n") as stream:
        for row in table.rows():
            stream.write(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str) + "\n")
            columns.update(dict.fromkeys(flatten(row)))
            out.records += 1
            if out.records % 1000 == 0:
                progress(table.name, out.records)
    csv_name = f"{table.name}.csv"
    header = list(columns)
    with (
        (root / jsonl).open(encoding="utf-8") as source,
        (root / csv_name).open("w", encoding="utf-8", newline="") as stream,
    ):
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in header])
        for line in source:
            flat = flatten(json.loads(line))
            writer.writerow([csv_cell(flat.get(c)) for c in header])
    out.files = [_described(root, jsonl), _described(root, csv_name)]
    progress(table.name, out.records)
    return out


def manifest(
    result: ExportResult, *, created_at: datetime, extra: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": created_at.isoformat(),
        **extra,
        "tables": [
            {
                "name": t.name,
                "source": t.source,
                "records": t.records,
                "files": [{"path": f.path, "sha256": f.sha256, "bytes": f.bytes} for f in t.files],
            }
            for t in result.tables
        ],
    }


def check_target(path: Path, *, force: bool) -> bool:
    """Whether ``path`` names a zip; Refused when it exists, is not empty, and not ``force``."""
    zipped = path.suffix.lower() == ".zip"
    if path.exists():
        if zipped and path.is_dir():
            raise Refused(f"{path} is a folder: give a new .zip file name, or a folder")
        if not zipped and not path.is_dir():
            raise Refused(f"{path} is a file: give a folder, or a path ending in .zip")
        empty = (path.stat().st_size == 0) if zipped else not any(path.iterdir())
        if not empty and not force:
            raise Refused(f"{path} exists and is not empty: give a new path, or --force")
    return zipped


def write_export(
    tables: Sequence[ExportTable],
    path: Path,
    *,
    force: bool = False,
    extra: Mapping[str, Any] | None = None,
    progress: Callable[[str, int], None] = lambda name, n: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ExportResult:
    """Write ``tables`` to ``path`` (a folder, or a ``.zip``) with their manifest."""
    zipped = check_target(path, force=force)
    created_at = now()
    if not zipped:
        path.mkdir(parents=True, exist_ok=True)
        return _write_all(tables, path, path, zipped, created_at, extra or {}, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sellsync-export-", dir=path.parent) as staging:
        root = Path(staging)
        result = _write_all(tables, root, path, zipped, created_at, extra or {}, progress)
        partial = root / "export.zip.partial"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in _files(result):
                archive.write(root / name, arcname=name)
        os.replace(partial, path)
    return result


def _files(result: ExportResult) -> Iterator[str]:
    for table in result.tables:
        yield from (f.path for f in table.files)
    yield MANIFEST


def _write_all(
    tables: Sequence[ExportTable],
    root: Path,
    target: Path,
    zipped: bool,
    created_at: datetime,
    extra: Mapping[str, Any],
    progress: Callable[[str, int], None],
) -> ExportResult:
    result = ExportResult(target, zipped, [])
    for table in tables:
        result.tables.append(_write_table(root, table, progress))
    body = manifest(result, created_at=created_at, extra=extra)
    (root / MANIFEST).write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return result


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an export (a folder or a zip)."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            data: dict[str, Any] = json.loads(archive.read(MANIFEST))
            return data
    data = json.loads((path / MANIFEST).read_text("utf-8"))
    return data
