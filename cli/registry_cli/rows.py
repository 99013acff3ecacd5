"""Files of rows, read and written a line at a time (a 1 GB file is never held whole).

Two formats: CSV (a header row of column names) and JSON Lines (one object a line). Two kinds of
row: devices (``registry import``, ``registry export``) and status reports (``registry report``).
A CSV cell left empty means "not given"; ``tags`` holds the tags separated by ``;``;
``attributes.<key>`` columns hold the free-form attributes. A ``problem`` column (or key) is what
an errors file adds to each failed row: it is ignored on import, so an errors file, once fixed,
imports as it is.

A CSV cell that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written with a leading ``'``, as OWASP's CSV injection
advice says, and read back without it (:func:`spreadsheet_safe`, :func:`from_spreadsheet`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from registry_cli.client import UsageError

PROBLEM = "problem"
ATTRIBUTES = "attributes"
ATTRIBUTE_PREFIX = "attributes."
TAGS = "tags"
TAG_SEPARATOR = ";"
FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"), and the quote that
# makes it text again.
FORMULA_STARTS = frozenset("=+-@\t\r")
TEXT_MARK = "'"


def from_spreadsheet(cell: str) -> str:
    """A cell as written by :func:`spreadsheet_safe`, its leading quote taken off. Only a quote
    before a formula character (or before another quote) is one: ``'hello`` stays as it is."""
    if cell.startswith(TEXT_MARK) and cell[1:2] and (cell[1] in FORMULA_STARTS or cell[1] == TEXT_MARK):
        return cell[1:]
    return cell


def spreadsheet_safe(value: str) -> str:
    """The cell for ``value`` that no spreadsheet runs as a formula and that
    :func:`from_spreadsheet` reads back as ``value`` (``-12.5`` is ``'-12.5`` in the file)."""
    if value[:1] in FORMULA_STARTS or from_spreadsheet(value) != value:
        return TEXT_MARK + value
    return value


@dataclass(frozen=True)
class Kind:
    """What a row holds: its plain columns (in export order), the required ones, and whether it
    has ``tags`` and ``attributes.<key>`` columns."""

    noun: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    tags_and_attributes: bool = False

    def known(self, column: str) -> bool:
        if column in self.columns or column == PROBLEM:
            return True
        return self.tags_and_attributes and (column == TAGS or _attribute_key(column) is not None)

    def describe_columns(self) -> str:
        extra = f", {TAGS}, {ATTRIBUTE_PREFIX}<key>" if self.tags_and_attributes else ""
        return ", ".join(self.columns) + extra


DEVICES = Kind(
    "device",
    (
        *("name", "device_type", "mac_address", "ip_address", "firmware_version", "serial_number", "location"),
        "report_interval_s",  # a whole number of seconds; the API takes it as written in a cell
    ),
    ("name", "device_type", "mac_address"),
    tags_and_attributes=True,
)
REPORTS = Kind("status report", ("device_id", "status", "reason"), ("device_id", "status"))


def _attribute_key(column: str) -> str | None:
    key = column.removeprefix(ATTRIBUTE_PREFIX)
    return key if column.startswith(ATTRIBUTE_PREFIX) and key else None


@dataclass
class Row:
    """One record of the file: where it is, what it was (to write it back if it fails), and the
    request item made of it, or why none could be made."""

    line: int
    original: list[str] | dict[str, Any] | str
    item: dict[str, Any] | None = None
    problem: str | None = None


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise UsageError(f"Cannot tell the format of {path} from its name: use --format csv or --format jsonl.")
    return found


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Each physical line, decoded (a UTF-8 character never spans a newline byte, so a line
    decodes alone), with its number; a byte that is not UTF-8 is a usage error naming the line."""
    with path.open("rb") as binary:
        for number, raw in enumerate(binary, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise UsageError(
                    f"{path} is not UTF-8: line {number} holds the byte 0x{raw[error.start]:02x} at column "
                    f"{error.start + 1}. Save the file as UTF-8 and import it again."
                ) from None


class Source:
    """A file of rows of one kind, checked whole before anything is sent: readable, UTF-8, and
    (CSV) a header naming every required column and no unknown one. ``total`` counts its
    non-blank records (the progress bar's 100%)."""

    def __init__(self, path: Path, kind: Kind, format: str | None = None) -> None:
        self.path = path
        self.kind = kind
        if not path.is_file():
            raise UsageError(f"No such file: {path}")
        self.format = file_format(path, format)
        self.header: list[str] = []
        self._line = 0  # the physical line the CSV reader is at
        self.total = self._check()

    def _check(self) -> int:
        try:
            if self.format == "jsonl":
                return sum(1 for _, text in _text_lines(self.path) if text.strip())
            records = self._csv_records()
            first = next(records, None)
            if first is None:
                raise UsageError(f"{self.path} is empty: a CSV file starts with a header row of column names.")
            self.header = [column.strip() for column in first[1]]
            self._check_header()
            return sum(1 for _ in records)
        except OSError as error:
            raise UsageError(f"Cannot read {self.path}: {error.strerror}") from None
        except csv.Error as error:
            raise UsageError(f"{self.path} is not a CSV file: {error} (near line {self._line}).") from None

    def _csv_records(self) -> Iterator[tuple[int, list[str]]]:
        """(line of the record's start, cells) for each non-blank CSV record."""
        lines = _text_lines(self.path)
        self._line = 0

        def texts() -> Iterator[str]:
            for number, text in lines:
                self._line = number
                yield text

        reader = csv.reader(texts(), strict=True)  # a stray quote is an error, not the rest of the file in one cell
        start = 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = self._line + 1

    def _check_header(self) -> None:
        seen: set[str] = set()
        for column in self.header:
            if not self.kind.known(column):
                raise UsageError(
                    f"{self.path}: unknown column {column!r}. The columns of a {self.kind.noun} file are "
                    f"{self.kind.describe_columns()}."
                )
            if column in seen:
                raise UsageError(f"{self.path}: the column {column!r} appears twice in the header.")
            seen.add(column)
        missing = [column for column in self.kind.required if column not in seen]
        if missing:
            raise UsageError(
                f"{self.path}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(the header has {', '.join(self.header) or 'nothing'})."
            )

    def rows(self) -> Iterator[Row]:
        if self.format == "jsonl":
            yield from self._jsonl_rows()
        else:
            records = self._csv_records()
            next(records, None)
            for line, cells in records:
                yield self._csv_row(line, cells)

    def _jsonl_rows(self) -> Iterator[Row]:
        for line, text in _text_lines(self.path):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as error:
                yield Row(line, text.rstrip("\r\n"), problem=f"line {line} is not JSON: {error}")
                continue
            if not isinstance(value, dict):
                yield Row(line, text.rstrip("\r\n"), problem=f"line {line} is not a JSON object")
                continue
            item = {key: field for key, field in value.items() if key != PROBLEM}
            yield Row(line, value, item=item)

    def _csv_row(self, line: int, cells: list[str]) -> Row:
        if len(cells) != len(self.header):
            problem = f"line {line} has {len(cells)} fields; the header has {len(self.header)}"
            return Row(line, cells, problem=problem)
        item: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        for column, written in zip(self.header, cells, strict=True):
            if written == "" or column == PROBLEM:
                continue
            cell = from_spreadsheet(written)
            key = _attribute_key(column)
            if key is not None:
                attributes[key] = cell
            elif column == TAGS:
                item[TAGS] = [tag.strip() for tag in cell.split(TAG_SEPARATOR) if tag.strip()]
            else:
                item[column] = cell
        if attributes:
            item[ATTRIBUTES] = attributes
        return Row(line, cells, item=item)

    def errors_path(self) -> Path:
        """``devices.csv`` → ``devices.errors.csv`` (``.jsonl`` likewise)."""
        return self.path.with_name(f"{self.path.stem}.errors.{self.format}")

    def errors_writer(self) -> ErrorsFile:
        return ErrorsFile(self.errors_path(), self.format, self.header)


class ErrorsFile:
    """Failed rows as they were, each with its ``problem``: fix them and import this file."""

    def __init__(self, path: Path, format: str, header: Sequence[str]) -> None:
        self.path = path
        self.format = format
        self.count = 0
        self._columns = len(header)
        self._problem_at = list(header).index(PROBLEM) if PROBLEM in header else len(header)
        self._header = list(header) if PROBLEM in header else [*header, PROBLEM]
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write(self, row: Row, problem: str) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            if self.format == "csv":
                self._writer = csv.writer(self._file, lineterminator="\n")
                self._writer.writerow(self._header)
        self.count += 1
        if self.format == "csv":
            cells = list(row.original) if isinstance(row.original, list) else [str(row.original)]
            # A row of too few fields is padded, so that its problem lands in the problem column.
            cells += [""] * (self._columns - len(cells))
            if self._problem_at < self._columns:
                cells[self._problem_at] = problem
            else:
                cells.insert(self._problem_at, problem)
            self._writer.writerow(cells)
        else:
            record = (
                {**row.original, PROBLEM: problem}
                if isinstance(row.original, dict)
                else {PROBLEM: problem, "text": row.original}
            )
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Done: the file holds every failed row; with none, no stale file of an earlier run stays."""
        if self._file is not None:
            self._file.close()
        elif self.path.exists():
            self.path.unlink()


# -- writing devices (export) ------------------------------------------------------------------


def device_record(detail: Mapping[str, Any]) -> dict[str, Any]:
    """What of a device detail a file holds: the attributes a registration takes (no id,
    versions or times), without the empty ones."""
    record: dict[str, Any] = {}
    for column in DEVICES.columns:
        if detail.get(column) is not None:
            record[column] = detail[column]
    if detail.get(TAGS):
        record[TAGS] = list(detail[TAGS])
    if detail.get(ATTRIBUTES):
        record[ATTRIBUTES] = dict(detail[ATTRIBUTES])
    return record


def write_csv(
    records: Iterable[Mapping[str, Any]],
    attribute_keys: Iterable[str],
    output: IO[str],
    *,
    first: Sequence[str] = (),
    last: Sequence[str] = (),
) -> None:
    """The devices' columns, with ``first`` before them and ``last`` after (an inventory's id, status)."""
    keys = sorted(attribute_keys)
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow([*first, *DEVICES.columns, TAGS, *(ATTRIBUTE_PREFIX + key for key in keys), *last])
    for record in records:
        attributes = record.get(ATTRIBUTES) or {}
        cells = [
            *(str(record.get(column) or "") for column in first),
            *(str(record.get(column) or "") for column in DEVICES.columns),
            TAG_SEPARATOR.join(record.get(TAGS) or []),
            *(str(attributes.get(key, "")) for key in keys),
            *(str(record.get(column) or "") for column in last),
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
