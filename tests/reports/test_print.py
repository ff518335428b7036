"""The printable A4 reports: header, figures, standings, a chart drawn on the server, the signature
block; in both languages; frozen standings once a campaign has ended; and who may print which unit."""

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from campaigns.tasks import run_campaign_events
from models import AuditEntry, Contribution, db
from reports.charts import progress_svg
from tests.conftest import csrf_token, login
from tests.leaderboards.test_boards import _give


def _page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _svg(html: str) -> ET.Element:
    match = re.search(r"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\".*?</svg>", html, re.S)
    assert match, "no chart"
    return ET.fromstring(match.group(0))


def _standings(html: str, title: str) -> list[str]:
    section = html.split(f"<h3>{title}</h3>")[1].split("</table>")[0]
    body = section.split("<tbody>")[1]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_campaign_report_has_header_figures_standings_chart_and_signatures(client, report_campaign):
    login(client, "leader1")
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/print")
    assert "UNIT W1" in html and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html
    assert "Thời gian: từ 02/11/2026 đến 02/12/2026" in html and "Ngày 05 tháng 11 năm 2026" in html
    assert "Tổng điểm" in html and "<dd>110</dd>" in html
    assert _standings(html, "Xếp hạng khu phố, ấp") == ["1 Khu phố Ba 70 2%", "2 Unit Q1 40 0,7%"]
    assert _standings(html, "Xếp hạng cá nhân") == ["1 Thành viên #1 Khu phố Ba 70", "2 Nguyễn Thị Hoa Unit Q1 40"]
    assert "Người lập báo cáo" in html and "Thủ trưởng đơn vị" in html
    chart = _svg(html)
    assert chart.find("{http://www.w3.org/2000/svg}title").text.startswith("Tiến độ hằng ngày của Unit W1")
    line = chart.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    assert len(line) == 4  # 2, 3, 4 and 5 November: the campaign so far
    assert db.session.query(AuditEntry).filter_by(action="export").count() == 0  # a GET writes nothing


def test_the_report_prints_in_english(client, report_campaign):
    login(client, "leader1")
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/print?lang=en")
    assert "SOCIALIST REPUBLIC OF VIET NAM" in html and "Prepared by" in html and "Head of unit" in html
    assert "Member #1" in html and _svg(html) is not None


def test_a_unit_report_shows_the_units_place_and_its_own_standings(client, report_campaign, tree):
    login(client, "leader1")
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/units/q1/print")
    assert "UNIT Q1" in html and "Xếp hạng của đơn vị" in html and "<dd>2 / 2</dd>" in html
    assert _standings(html, "Xếp hạng cá nhân") == ["1 Nguyễn Thị Hoa Unit Q1 40"]
    assert "Khu phố Ba" not in html.split("III.")[1]
    assert _svg(html).find("{http://www.w3.org/2000/svg}title").text.startswith("Tiến độ hằng ngày của Unit Q1")


def test_an_ended_campaign_prints_its_frozen_standings(app, client, report_campaign, tree, clock):
    clock.advance(days=30)
    run_campaign_events(clock())
    db.session.commit()
    _give(report_campaign, tree["Q1"], points=100)  # a late correction: the boards move, the result does not
    login(client, "leader1")
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/print")
    assert "Kết quả chung cuộc" in html
    assert _standings(html, "Xếp hạng khu phố, ấp") == ["1 Khu phố Ba 70", "2 Unit Q1 40"]
    assert "Thành viên #1" in html and "Trần Văn Ẩn" not in html
    unit = _page(client, f"/campaigns/{report_campaign.slug}/reports/units/Q1/print")
    assert "<dd>2 / 2</dd>" in unit


def test_work_approved_after_the_end_enters_the_result_and_the_boards_alike(app, client, report_campaign, clock):
    """The last day's work is reviewed the morning after: the frozen result takes it in, so the printed
    report, the export and the public board give the same standings."""
    clock.advance(days=30)
    run_campaign_events(clock())
    db.session.commit()
    late = db.session.scalars(select(Contribution).where(Contribution.status == "pending")).one()
    login(client, "leader1")
    token = csrf_token(client, "/review")
    assert client.post(f"/review/{late.id}/approve", data={"csrf_token": token}).status_code == 302

    board = client.get(f"/api/v1/campaigns/{report_campaign.slug}/leaderboard?level=quarter").get_json()
    shown = [f"{row['rank']} {row['name']} {row['points']}" for row in board]
    assert shown[0].startswith("1 Khu phố Ba") and not shown[0].endswith(" 70")  # it moved
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/print")
    assert "Kết quả chung cuộc" in html and _standings(html, "Xếp hạng khu phố, ấp") == shown


@pytest.mark.parametrize(
    "username, path, status",
    [
        ("leader2", "/print", 403),  # another ward's leader
        ("leader2", "/units/Q1/print", 403),
        ("member", "/print", 403),
        ("teamlead", "/units/Q1/print", 403),
        ("leader1", "/units/Q2/print", 404),  # a quarter outside the campaign
        ("leader1", "/units/NOPE/print", 404),
        ("leader1", "/units/T1/print", 404),  # a team: reports are for wards and quarters
    ],
)
def test_who_may_print_which_report(client, report_campaign, username, path, status):
    login(client, username)
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports{path}", status)
    if status == 404 and "Q2" in path:
        assert "Đơn vị này không thuộc phạm vi chiến dịch." in html


def test_a_ward_leader_prints_the_wards_report_of_a_province_campaign(client, make_campaign, tree):
    campaign = make_campaign(scope="DN", by="admin")
    _give(campaign, tree["Q1"], points=5, outcome=1)
    login(client, "leader1")
    token = csrf_token(client, f"/campaigns/{campaign.slug}/reports")
    export = client.post(f"/campaigns/{campaign.slug}/reports/export.xlsx", data={"csrf_token": token})
    assert export.status_code == 403  # the province's figures are the province's to export
    hub = _page(client, f"/campaigns/{campaign.slug}/reports")
    assert "/reports/units/W1/print" in hub and "/reports/units/W2/print" not in hub and "export.xlsx" not in hub
    html = _page(client, f"/campaigns/{campaign.slug}/reports/units/W1/print")
    assert _standings(html, "Xếp hạng khu phố, ấp")[0].startswith("1 Unit Q1")
    _page(client, f"/campaigns/{campaign.slug}/reports/units/W2/print", 403)


def test_the_chart_escapes_what_it_is_given_and_draws_the_target():
    svg = progress_svg([], 120.0, "<b>Khu phố & Ấp</b>", "Chỉ tiêu <120>", "Chưa có số liệu.")
    root = ET.fromstring(str(svg))
    assert root.find("{http://www.w3.org/2000/svg}title").text == "<b>Khu phố & Ấp</b>"
    assert root.find("{http://www.w3.org/2000/svg}line[@class='target']") is not None
    assert "<b>" not in str(svg)


def test_a_headline_count_of_fewer_than_five_residents_prints_as_fewer_than_five(
    client, report_campaign, make_unit, tree
):
    """As in the workbook: two residents helped in a quarter could be named by their neighbours, and the
    share of its target would give the count away."""
    q4 = make_unit("Q4", "quarter", tree["W1"], adult_population=600, name="Khu phố Bốn")
    _give(report_campaign, q4, points=20, outcome=2)
    login(client, "leader1")
    html = _page(client, f"/campaigns/{report_campaign.slug}/reports/units/q4/print")
    headline = report_campaign.headline_activity.name
    shown = re.search(rf"<dt>{headline}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert shown and shown.group(1).strip() == "&lt; 5 / 360"  # the target: 60 % of 600 adults
    ward = _page(client, f"/campaigns/{report_campaign.slug}/reports/print")
    assert re.search(rf"<dt>{headline}</dt>\s*<dd>22 / [\d.]+ \([\d,]+%\)</dd>", ward)  # 8 + 12 + 2: shown
