"""Tables as files an official opens in Excel: one XLSX workbook of several sheets, or one CSV per table.

Cells keep their type (numbers stay numbers, dates stay dates), so the province can sum and filter
what a ward sends without retyping it."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Cell = str | int | float | Decimal | Fraction | date | datetime | None

# Excel refuses sheet titles longer than this and these characters in them.
MAX_TITLE = 31
FORBIDDEN_IN_TITLE = str.maketrans({c: " " for c in "[]:*?/\\"})
# A cell starting with one of these is a formula to Excel: text from users must never run as one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def _value(cell: Cell) -> str | int | float | Decimal | date | datetime | None:
    if isinstance(cell, Fraction):
        return float(cell)
    if isinstance(cell, datetime) and cell.tzinfo is not None:
        # Excel has no time zones: the caller passes local times; the offset would make openpyxl fail.
        return cell.replace(tzinfo=None)
    if isinstance(cell, str):
        # Control characters (Word's soft line break comes with pasted text) are not allowed in XLSX.
        cell = ILLEGAL_CHARACTERS_RE.sub("", cell)
        return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
    return cell


def _title(title: str) -> str:
    """A sheet title Excel accepts: none of its forbidden characters, spaces folded, at most 31 characters."""
    return " ".join(title.translate(FORBIDDEN_IN_TITLE).split())[:MAX_TITLE].strip()


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX file with one sheet per table: bold frozen header row, columns wide enough to read."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for sheet in sheets:
        page = book.create_sheet(_title(sheet.title))
        page.append(list(sheet.headers))
        for cell in page[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            page.append([_value(cell) for cell in row])
        for cells in page.iter_rows(min_row=2):
            for cell in cells:
                # Vietnamese order of day and month, whatever the reader's Excel locale.
                if isinstance(cell.value, datetime):
                    cell.number_format = "DD/MM/YYYY HH:MM"
                elif isinstance(cell.value, date):
                    cell.number_format = "DD/MM/YYYY"
        page.freeze_panes = "A2"
        for index, header in enumerate(sheet.headers, start=1):
            longest = max([len(header)] + [len(str(row[index - 1] or "")) for row in sheet.rows])
            page.column_dimensions[get_column_letter(index)].width = min(60, longest + 2)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def csv_bytes(sheet: Sheet) -> bytes:
    """One table as CSV in UTF-8 with a byte-order mark, which is how Excel knows to read Vietnamese."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow("" if cell is None else _value(cell) for cell in row)
    return ("\ufeff" + output.getvalue()).encode("utf-8")
