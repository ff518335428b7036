"""Exports through HTTP: the workbook opened with openpyxl and compared with the boards, CSV files as
Excel reads them, names and small counts hidden, every export audited, and who may export."""

import csv
import io
import sqlite3
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

import reports.services
from models import AuditEntry, db
from reports.services import recent_exports
from tests.conftest import DATABASE_URL, csrf_token, login

LEVEL_SHEETS = ["Xếp hạng phường, xã", "Xếp hạng khu phố, ấp", "Xếp hạng chi đoàn", "Xếp hạng tổ công nghệ số"]
ALL_SHEETS = [*LEVEL_SHEETS, "Xếp hạng cá nhân", "Đóng góp", "Đào tạo", "Kiểm tra"]


def _hub(campaign) -> str:
    return f"/campaigns/{campaign.slug}/reports"


def _export(client, campaign, path="/export.xlsx", **kwargs):
    token = csrf_token(client, _hub(campaign))
    return client.post(_hub(campaign) + path, data={"csrf_token": token}, **kwargs)


def _workbook(client, campaign, **kwargs):
    response = _export(client, campaign, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="thidua-{campaign.slug}.xlsx"' in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))


def _rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(min_row=2, values_only=True))


def _csv(client, campaign, table, **kwargs) -> tuple[bytes, list[list[str]]]:
    response = _export(client, campaign, f"/export/{table}.csv", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return response.data, list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_the_workbook_has_a_sheet_per_board_level_and_per_table_matching_the_boards(client, report_campaign, people):
    login(client, "leader1")
    book = _workbook(client, report_campaign)
    assert book.sheetnames == ALL_SHEETS
    board = client.get(f"/api/v1/campaigns/{report_campaign.slug}/leaderboard?level=quarter&limit=500").get_json()
    quarters = _rows(book["Xếp hạng khu phố, ấp"])
    assert [(row[0], row[1], row[2], row[4], row[5]) for row in quarters] == [
        (item["rank"], item["unit_code"], item["name"], item["points"], item["target_pct"]) for item in board
    ]
    assert [row[1] for row in quarters] == ["Q3", "Q1"] and quarters[0][4] == 70
    assert book["Xếp hạng khu phố, ấp"]["E2"].data_type == "n"  # a number Excel can sum, not text
    assert [cell.value for cell in book["Xếp hạng khu phố, ấp"][1]] == [
        "Hạng",
        "Mã đơn vị",
        "Tên đơn vị",
        "Phường, xã",
        "Điểm",
        "Phần trăm chỉ tiêu",
    ]
    members = client.get(f"/api/v1/campaigns/{report_campaign.slug}/leaderboard?level=member").get_json()
    assert [(row[0], row[3]) for row in _rows(book["Xếp hạng cá nhân"])] == [
        (item["rank"], item["points"]) for item in members
    ]


def test_dates_are_dates_and_counts_are_numbers(client, report_campaign):
    login(client, "leader1")
    book = _workbook(client, report_campaign)
    work = book["Đóng góp"]
    assert [cell.value for cell in work[1]] == [
        "Ngày",
        "Tên đơn vị",
        "Hoạt động",
        "Số lượt",
        "Số lượng",
        "Đơn vị tính",
        "Điểm",
    ]
    first = work["A2"]
    assert isinstance(first.value, datetime) and first.value.date().isoformat() == "2026-11-04"
    assert first.number_format == "DD/MM/YYYY"
    sessions = next(row for row in _rows(work) if row[2] == "Buổi hướng dẫn tại nhà văn hoá")
    assert sessions[3:] == (1, 2, "buổi", 20)  # the pending one is not counted
    quiz = _rows(book["Kiểm tra"])
    assert isinstance(quiz[0][1], datetime) and book["Kiểm tra"]["B2"].number_format == "DD/MM/YYYY"


def test_unnamed_members_and_small_counts_of_people_are_hidden(client, report_campaign):
    login(client, "leader1")
    book = _workbook(client, report_campaign)
    members = _rows(book["Xếp hạng cá nhân"])
    assert members == [(1, "Thành viên #1", "Khu phố Ba", 70), (2, "Nguyễn Thị Hoa", "Unit Q1", 40)]
    assert "Trần Văn Ẩn" not in str([_rows(sheet) for sheet in book.worksheets])
    installs = next(row for row in _rows(book["Đóng góp"]) if row[2] == "Hỗ trợ người dân cài chữ ký số")
    # Two residents helped: too few to show, and so are the points that would count them.
    assert installs[3:5] == ("< 5", "< 5") and installs[6] == "< 5"
    quiz = {row[2]: (row[3], row[4]) for row in _rows(book["Kiểm tra"])}
    assert quiz["Unit Q1"] == ("< 5", "< 5") and quiz["Khu phố Ba"][0] == 6 and quiz["Khu phố Ba"][1] > 0
    training = {row[0]: row[2:7] for row in _rows(book["Đào tạo"])}
    assert training["Unit Q1"] == ("< 5", "< 5", "< 5", 50, "< 5")  # 1 of 2 members trained: no share either


TABLES = ["ward", "quarter", "youth_union", "team", "member", "contributions", "training", "quiz"]


@pytest.mark.parametrize("table, sheet", list(zip(TABLES, ALL_SHEETS, strict=True)))
def test_each_table_as_csv_is_utf8_with_a_bom_and_matches_its_sheet(client, report_campaign, table, sheet):
    login(client, "leader1")
    data, rows = _csv(client, report_campaign, table)
    assert data.startswith(b"\xef\xbb\xbf")
    book = _workbook(client, report_campaign)
    assert rows[0] == [cell.value for cell in book[sheet][1]]
    assert [tuple(_as_in_sheet(cell) for cell in row) for row in rows[1:]] == _rows(book[sheet])


def _as_in_sheet(cell: str):
    """A CSV cell read back as the workbook types it: numbers, dates (as midnight), empty as None."""
    if not cell:
        return None
    if cell.replace(".", "", 1).lstrip("-").isdigit():
        number = float(cell)
        return int(number) if number.is_integer() else number
    try:
        return datetime.fromisoformat(cell)
    except ValueError:
        return cell


def test_csv_text_is_vietnamese_and_formulas_are_neutralised(client, report_campaign, tree):
    tree["Q3"].name = '=HYPERLINK("http://x")'
    db.session.commit()
    login(client, "leader1")
    data, rows = _csv(client, report_campaign, "quarter")
    assert "Mã đơn vị" in data.decode("utf-8-sig")
    assert rows[1][2] == '\'=HYPERLINK("http://x")'
    book = _workbook(client, report_campaign)
    assert book["Xếp hạng khu phố, ấp"]["C2"].data_type == "s"


def test_text_pasted_with_control_characters_still_exports(client, report_campaign, tree):
    tree["Q3"].name = "Khu phố\x0b3"  # Word's soft line break, pasted into a name
    db.session.commit()
    login(client, "leader1")
    names = [row[2] for row in _rows(_workbook(client, report_campaign)["Xếp hạng khu phố, ấp"])]
    assert "Khu phố3" in names


@pytest.mark.skipif(not DATABASE_URL.startswith("sqlite"), reason="SQLite's one write lock; PostgreSQL locks rows")
def test_building_an_export_leaves_the_write_lock_to_other_writers(client, report_campaign, monkeypatch):
    """An export reads for seconds at province scale: a member logging work meanwhile must not wait."""
    database = DATABASE_URL.removeprefix("sqlite:///")
    lock_seen = []

    def sheet_while_another_writer_tries(*args):
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            lock_seen.append("free")
        except sqlite3.OperationalError:
            lock_seen.append("held")
        finally:
            other.close()
        return real_sheet(*args)

    real_sheet = reports.services.campaign_sheet
    monkeypatch.setattr(reports.services, "campaign_sheet", sheet_while_another_writer_tries)
    login(client, "leader1")
    exported = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export"))
    _workbook(client, report_campaign)
    _csv(client, report_campaign, "quarter")
    assert lock_seen and set(lock_seen) == {"free"}, lock_seen
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")) == (
        exported + 2
    )


def test_every_export_is_audited_and_listed_for_the_leader(app, client, report_campaign, people):
    login(client, "leader1")
    _workbook(client, report_campaign)
    _csv(client, report_campaign, "quiz")
    entries = db.session.query(AuditEntry).filter_by(action="export").order_by(AuditEntry.id).all()
    assert [(entry.actor_id, entry.target_type, entry.target_id, entry.after) for entry in entries] == [
        (people["leader1"].id, "campaign", report_campaign.id, {"what": "workbook", "format": "xlsx"}),
        (people["leader1"].id, "campaign", report_campaign.id, {"what": "quiz", "format": "csv"}),
    ]
    assert entries[0].unit_id == report_campaign.scope_unit_id and entries[0].at is not None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin")
    _csv(client, report_campaign, "member")  # someone else's export is not on leader1's list
    with app.test_request_context():
        listed = recent_exports(people["leader1"], 5)
        assert len(recent_exports(people["admin"], 5)) == 1
    assert [(item.what, item.file_format, item.campaign.id) for item in listed] == [
        ("Kiểm tra", "csv", report_campaign.id),
        ("Cả bộ số liệu", "xlsx", report_campaign.id),
    ]
    hub = client.get(_hub(report_campaign)).get_data(as_text=True)
    assert "Lần xuất gần đây của bạn" in hub and "Xếp hạng cá nhân (CSV)" in hub
    audit_page = client.get("/audit").get_data(as_text=True)
    assert "Đã xuất dữ liệu" in audit_page


@pytest.mark.parametrize("username, status", [("member", 403), ("teamlead", 403), ("leader2", 403)])
def test_only_the_campaigns_leaders_and_admins_export(client, report_campaign, username, status):
    login(client, "leader1")
    token = csrf_token(client, _hub(report_campaign))
    client.post("/logout", data={"csrf_token": token})
    login(client, username)
    response = client.post(_hub(report_campaign) + "/export.xlsx", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == status
    assert client.get(_hub(report_campaign)).status_code == status
    assert db.session.query(AuditEntry).filter_by(action="export").count() == 0


def test_the_admin_exports_and_strangers_are_sent_to_login(client, report_campaign):
    token = csrf_token(client, "/login")
    assert client.post(_hub(report_campaign) + "/export.xlsx", data={"csrf_token": token}).status_code == 302
    login(client, "admin")
    assert _workbook(client, report_campaign).sheetnames == ALL_SHEETS


def test_bad_requests_change_nothing(client, report_campaign):
    login(client, "leader1")
    unknown = _export(client, report_campaign, "/export/passwords.csv")
    assert unknown.status_code == 400
    assert "Không có bảng số liệu này" in unknown.get_data(as_text=True)
    assert client.post(_hub(report_campaign) + "/export.xlsx").status_code == 400  # no CSRF token
    assert client.get(_hub(report_campaign) + "/export.xlsx").status_code == 405  # a GET never exports
    assert client.get("/campaigns/nope/reports").status_code == 404
    assert db.session.query(AuditEntry).filter_by(action="export").count() == 0


def test_english_pages_export_english_headers(client, report_campaign):
    login(client, "leader1")
    client.get("/?lang=en")
    book = _workbook(client, report_campaign)
    assert book.sheetnames[1] == "Quarter standings"
    assert [cell.value for cell in book["Quarter standings"][1]][:3] == ["Rank", "Unit code", "Unit name"]
    assert _rows(book["Member standings"])[0][1] == "Member #1"
    training = _rows(book["Training"])
    assert training[0][1] == "Basic digital skills"
