"""core/spreadsheets.py on its own, for what the export routes cannot reach: titles Excel refuses,
aware times, exact fractions, formulas typed by users, empty cells."""

import csv
import io
from datetime import UTC, date, datetime
from fractions import Fraction

from openpyxl import load_workbook

from core.spreadsheets import Sheet, csv_bytes, workbook_bytes


def test_titles_excel_refuses_are_cleaned_and_cut_to_31_characters():
    book = load_workbook(io.BytesIO(workbook_bytes([Sheet("Xếp hạng [tuần] 1/2: khu phố? * và ấp", ["A"], [])])))
    assert book.sheetnames == ["Xếp hạng tuần 1 2 khu phố và ấp"]


def test_cells_keep_their_types_and_user_text_never_runs_as_a_formula():
    rows = [[datetime(2026, 11, 4, 3, 30, tzinfo=UTC), date(2026, 11, 4), Fraction(2, 3), -4, "-1+2", "@SUM(A1)", None]]
    sheet = load_workbook(io.BytesIO(workbook_bytes([Sheet("T", list("ABCDEFG"), rows)])))["T"]
    values = [cell.value for cell in sheet[2]]
    assert values[:4] == [datetime(2026, 11, 4, 3, 30), datetime(2026, 11, 4), 2 / 3, -4]
    assert values[4:] == ["'-1+2", "'@SUM(A1)", None]
    assert sheet["A2"].number_format == "DD/MM/YYYY HH:MM" and sheet["B2"].number_format == "DD/MM/YYYY"
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"


def test_csv_is_utf8_with_a_bom_and_leaves_empty_cells_empty():
    data = csv_bytes(Sheet("T", ["Tên đơn vị", "Điểm"], [["Khu phố Ẩn", None], ["=1+1", 3]]))
    assert data.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["Tên đơn vị", "Điểm"],
        ["Khu phố Ẩn", ""],
        ["'=1+1", "3"],
    ]
