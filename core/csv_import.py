"""Reading CSV uploads: all rows are checked first, and a file with any bad row imports nothing."""

import csv
import io
from dataclasses import dataclass

from flask_babel import format_number
from flask_babel import gettext as _

MAX_ROWS = 20_000
MAX_COUNT_DIGITS = 12
# The delimiter is guessed from the start of the header; the Sniffer's regexes slow down on long text.
SNIFF_CHARS = 4096


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def read_csv(data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    """Rows as (line number, {column: stripped value}) plus file-level errors.

    Accepts UTF-8 with or without BOM (what Excel and Google Sheets export), comma or semicolon.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(0, _("Tệp phải là CSV mã hoá UTF-8 (trong Excel: Lưu thành CSV UTF-8)."))]
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0][:SNIFF_CHARS], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return _read_rows(reader, required, optional)
    except csv.Error as error:
        # The csv module stops at a cell over its field_size_limit or a stray carriage return.
        return [], [RowError(reader.line_num, _unreadable(error))]


def _unreadable(error: csv.Error) -> str:
    if "field limit" in str(error):
        return _("Ô quá dài (tối đa %(n)s ký tự).", n=format_number(csv.field_size_limit()))
    return _("Không đọc được dòng này: kiểm tra dấu ngoặc kép và ký tự xuống dòng.")


def _read_rows(reader, required: tuple[str, ...], optional: tuple[str, ...]):
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in required if column not in header]
    if missing:
        return [], [RowError(1, _("Thiếu cột: %(columns)s.", columns=", ".join(missing)))]
    known = set(required) | set(optional)
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_ROWS:
            return [], [RowError(reader.line_num, _("Tệp có quá %(n)d dòng.", n=MAX_ROWS))]
        row = {column: value.strip() for column, value in zip(header, values, strict=False) if column in known}
        rows.append((reader.line_num, row))
    if not rows:
        return [], [RowError(0, _("Tệp không có dòng dữ liệu nào."))]
    return rows, []


def parse_count(value: str) -> int | None:
    """A non-negative whole number written with or without thousands separators, or None.

    ASCII digits only ("²".isdigit() is true, int() refuses it), and at most 12 of them: no count
    here comes near a trillion, and SQLite cannot store an integer past 2**63.
    """
    cleaned = value.replace(".", "").replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > MAX_COUNT_DIGITS:
        raise ValueError(value)
    return int(cleaned)
