"""Action plans through HTTP: who keeps which, the share of targets done, metric targets read from the
same aggregates as the boards, hand-entered figures with evidence, bad input, audit and the workbook."""

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import ActionPlan, AuditEntry, Completion, Course, PlanTarget, db
from plans.services import PlanFields, TargetFields, enter_figure, save_plan, save_target
from tests.conftest import START, csrf_token, login
from tests.leaderboards.test_boards import _give
from tests.sql_budget import request_statements

STARTS_ON = date(2026, 11, 1)
YEAR_MESSAGE = "Năm phải từ 2000 đến 2099."  # the campaigns' rule, and its message
TODAY = date(2026, 11, 5)  # the clock fixture's day in Vietnam


def _audit_count(action: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalar(query)


def _plan(people, unit, *, title="Kế hoạch 469-KH/TU", starts_on=STARTS_ON, by="admin") -> ActionPlan:
    plan = save_plan(people[by], PlanFields(title, "", unit, starts_on), START)
    db.session.commit()
    return plan


def _target(people, plan, *, title="Chỉ tiêu", value=100.0, deadline=date(2026, 12, 31), key=False, source="manual"):
    target = save_target(people["admin"], plan, TargetFields(title, "", value, deadline, key, source), START)
    db.session.commit()
    return target


def _figure(people, target, value):
    enter_figure(people["admin"], target, value, "Báo cáo số 12/BC-UBND", "", START)
    db.session.commit()


def _post(client, path, data, token_from=None):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from or path)} | data)


def test_a_province_plan_counts_targets_done_and_key_targets_as_the_province_reports_them(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    for number in range(43):
        target = _target(people, plan, title=f"Chỉ tiêu {number + 1}", key=number < 8)
        # 26 done, 6 of them among the 8 key targets.
        if number < 6 or 8 <= number < 28:
            _figure(people, target, 100)
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "26/43 — 60,5%" in page
    assert "6/8 — 75%" in page
    english = client.get(f"/plans/{plan.id}?lang=en").get_data(as_text=True)
    assert "26/43 — 60.5%" in english
    assert "Key targets completed" in english and "Đã hoàn thành" not in english


@pytest.mark.parametrize(
    ("figure", "status"),
    [(100, "done"), (120, "done"), (40, "on_track"), (39, "behind"), (None, "behind")],
)
def test_a_target_is_done_on_track_or_behind_by_a_straight_line_to_its_deadline(
    client, people, tree, clock, figure, status
):
    # 4 of 10 days gone on 5 November: 40 of 100 keeps pace.
    plan = _plan(people, tree["DN"])
    target = _target(people, plan, deadline=STARTS_ON + timedelta(days=10))
    if figure is not None:
        _figure(people, target, figure)
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    row = page.split(f'id="target-{target.id}"')[1].split("</tr>")[0]
    assert f"plan-{status}" in row
    assert sum(f"plan-{other}" in row for other in ("done", "on_track", "behind")) == 1


def test_after_the_deadline_a_target_short_of_its_value_is_behind(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    target = _target(people, plan, deadline=TODAY)
    _figure(people, target, 99.5)
    login(client, "admin")
    row = client.get(f"/plans/{plan.id}").get_data(as_text=True).split(f'id="target-{target.id}"')[1]
    assert "plan-behind" in row.split("</tr>")[0]


def _board(client, campaign, **params):
    return client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard", query_string=params).get_json()


def _unit_cells(page: str, code: str) -> tuple[list[str], list[str]]:
    """The figures a unit's row of the per-unit table shows, and its cells."""
    cells = page.split(f'id="unit-{code}"')[1].split("</tr>")[0].split("<td")[1:]
    return [re.search(r">\s*(&lt; 5|[\d.,]+)", cell).group(1) for cell in cells], cells


def _reached(page: str, target: PlanTarget) -> str:
    """What the targets table shows a target has reached."""
    cells = page.split(f'id="target-{target.id}"')[1].split("</tr>")[0].split("<td")[1:]
    return re.search(r">\s*(.*?)\s*</td>", cells[3], re.S).group(1)


def test_metric_targets_and_each_ward_read_the_same_figures_as_the_boards(client, people, tree, make_campaign, clock):
    campaign = make_campaign(scope="DN", by="admin")  # digital signatures: 60% of adults
    _give(campaign, tree["Q1"], points=60_000, outcome=12_000)  # W1: 12,000 of 20,000 adults
    _give(campaign, tree["Q2"], points=45_000, outcome=9_000)  # W2: 9,000 of 30,000 adults
    headline = campaign.headline_activity
    plan = _plan(people, tree["DN"])
    share = _target(
        people,
        plan,
        title="Tỷ lệ có chữ ký số",
        value=60,
        deadline=date(2026, 11, 6),
        source=f"outcome_share:{headline.id}",
    )
    _target(people, plan, title="Số người có chữ ký số", value=50_000, source=f"outcomes:{headline.id}")
    _target(people, plan, title="Điểm thi đua", value=100_000, source=f"points:{campaign.id}", key=True)
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)

    by_points = {row["unit_code"]: row for row in _board(client, campaign, level="ward", metric="points")}
    by_target = {row["unit_code"]: row for row in _board(client, campaign, level="ward", metric="target")}
    adults = {"W1": 20_000, "W2": 30_000}
    for code in ("W1", "W2"):
        shown, _cells = _unit_cells(page, code)
        share_of_adults = by_target[code]["target_pct"] * 60 / 100  # percent of the target → percent of adults
        assert shown[0] == f"{share_of_adults:.0f}"
        assert shown[1] == f"{by_target[code]['target_pct'] * 60 * adults[code] // 10_000:,.0f}".replace(",", ".")
        assert shown[2] == f"{by_points[code]['points']:,}".replace(",", ".")
    assert "plan-done" in page.split('id="unit-W1"')[1].split("</tr>")[0]  # 60% of adults: done
    assert "plan-behind" in page.split('id="unit-W2"')[1].split("</tr>")[0]  # 30%, 4 days of 5 in: behind
    # The province: 21,000 of 100,000 adults is 21%; 105,000 points reach the key target.
    row = page.split(f'id="target-{share.id}"')[1].split("</tr>")[0]
    assert ">21<" in row.replace(" ", "")
    assert "1/3 — 33,3%" in page and "1/1 — 100%" in page


def _trained(course, members):
    for member in members:
        db.session.add(Completion(course=course, member=member, completed_on=TODAY, source="leader", status="verified"))
    db.session.commit()


def test_members_trained_read_the_same_figures_as_the_training_coverage(client, people, tree, make_user, clock):
    course = Course(code="KNS", name="Kỹ năng số cơ bản", target_percent=50)
    db.session.add(course)
    # Five or more in each cell, or the plan would show "< 5" where the coverage page shows the count.
    w1 = [make_user(f"q1member{n}", home_unit=tree["Q1"]) for n in range(5)]
    for n in range(3):
        make_user(f"q2member{n}", home_unit=tree["Q2"])
    _trained(course, [people["member"], people["teamlead"], *w1[:4]])  # six of W1's eight; none of W2's five
    plan = _plan(people, tree["DN"])
    share = _target(
        people,
        plan,
        title="Tỷ lệ đã học",
        value=50,
        deadline=TODAY + timedelta(days=1),
        source=f"trained_share:{course.id}",
    )
    _target(people, plan, title="Số người đã học", value=6, source=f"trained:{course.id}")
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    coverage = client.get("/training/coverage").get_data(as_text=True)
    assert "&lt; 5" not in page
    for code, status in (("W1", "plan-done"), ("W2", "plan-behind")):
        shown, cells = _unit_cells(page, code)
        covered = coverage.split(f'id="coverage-{course.id}-{tree[code].id}"')[1].split("</tr>")[0]
        assert f">{shown[0]}%<" in covered and f">{shown[1]} / " in covered
        assert status in cells[0]
    row = page.split(f'id="target-{share.id}"')[1].split("</tr>")[0]
    assert "42,9" in row and "plan-on_track" in row  # 6 of the province's 14 people: 40% is due on day 4 of 5


def test_fewer_than_five_people_show_as_fewer_than_five_on_the_page_the_print_and_the_workbook(
    client, people, tree, make_campaign, clock
):
    """As in the campaign's reports: a count of people from one to four, or a share that would give one
    away, shows "< 5"; points and counts of things show as they are; statuses are judged on the figures."""
    signatures = make_campaign(scope="DN", by="admin")  # residents helped, each counted once
    shops = make_campaign("cashless", scope="DN", by="admin")  # shops taking QR payments: not people
    _give(signatures, tree["Q1"], points=30, outcome=3)
    _give(shops, tree["Q1"], points=15, outcome=3)
    course = Course(code="KNS", name="Kỹ năng số cơ bản", target_percent=50)
    db.session.add(course)
    _trained(course, [people["member"], people["teamlead"]])  # two of W1's three people; none of W2's two
    plan = _plan(people, tree["DN"])
    signature, shop = signatures.headline_activity.id, shops.headline_activity.id
    targets = [
        _target(people, plan, title="Người có chữ ký số", value=3, source=f"outcomes:{signature}"),
        _target(people, plan, title="Tỷ lệ có chữ ký số", value=60, source=f"outcome_share:{signature}"),
        _target(people, plan, title="Cửa hàng QR", value=100, source=f"outcomes:{shop}"),
        _target(people, plan, title="Người đã học", value=2, source=f"trained:{course.id}"),
        _target(people, plan, title="Tỷ lệ đã học", value=50, source=f"trained_share:{course.id}"),
        _target(people, plan, title="Điểm", value=10, source=f"points:{signatures.id}"),
    ]
    hidden = "< 5"
    # The province: 3 residents, a share of them, 3 shops, 2 of 6 people trained, 33.3% of them, 30 points.
    expected = {
        tree["DN"].name: [hidden, hidden, 3, hidden, hidden, 30],
        tree["W1"].name: [hidden, hidden, 3, hidden, hidden, 30],  # 2 of 3 trained
        tree["W2"].name: [0, 0, 0, 0, hidden, 0],  # nobody trained, but of two people
    }
    login(client, "admin")
    for path in (f"/plans/{plan.id}", f"/plans/{plan.id}/print"):
        page = client.get(path).get_data(as_text=True)
        assert [_reached(page, target) for target in targets] == ["&lt; 5", "&lt; 5", "3", "&lt; 5", "&lt; 5", "30"]
        for code in ("W1", "W2"):
            shown, cells = _unit_cells(page, code)
            assert shown == [str(figure).replace("<", "&lt;") for figure in expected[tree[code].name]], (path, code)
        assert "plan-done" in _unit_cells(page, "W1")[1][4]  # 66.7% of W1 trained, judged though not shown
        assert "66,7" not in page and "33,3" not in page
        # Done on the true figures: 3 residents of 3, 2 trained of 2, 30 points of 10; W1's share is not hidden
        # away from the province's 3 of 100,000 adults, which is behind.
        assert "plan-done" in page.split(f'id="target-{targets[3].id}"')[1].split("</tr>")[0]
        assert "3/6 — 50%" in page

    book = _xlsx(_post(client, f"/plans/{plan.id}/export", {}, token_from=f"/plans/{plan.id}"))
    reached = [row[5] for row in book["Chỉ tiêu"].iter_rows(min_row=2, values_only=True)]
    assert reached == expected[tree["DN"].name]
    statuses = [row[7] for row in book["Chỉ tiêu"].iter_rows(min_row=2, values_only=True)]
    assert statuses[0] == statuses[3] == "Đã hoàn thành"
    per_unit: dict[str, list] = {}
    for unit, _title, _value, figure, _status in book["Theo đơn vị"].iter_rows(min_row=2, values_only=True):
        per_unit.setdefault(unit, []).append(figure)
    assert per_unit == {name: figures for name, figures in expected.items() if name != tree["DN"].name}


def test_a_ward_plan_shows_its_quarters(client, people, tree, make_unit, make_campaign, clock):
    campaign = make_campaign()  # W1's digital signature drive
    quarter = make_unit("Q1B", "quarter", tree["W1"], adult_population=1_000)
    _give(campaign, tree["Q1"], points=50, outcome=10)
    _give(campaign, quarter, points=3_000, outcome=600)  # 60% of its adults
    plan = _plan(people, tree["W1"], by="leader1")
    _target(people, plan, title="Tỷ lệ", value=60, source=f"outcome_share:{campaign.headline_activity.id}")
    login(client, "leader1")
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "plan-done" in page.split('id="unit-Q1B"')[1].split("</tr>")[0]
    assert "plan-behind" in page.split('id="unit-Q1"')[1].split("</tr>")[0]  # 10 of 2,000: 0.5%
    assert 'id="unit-W2"' not in page


def _xlsx(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"  # names and figures stay off shared caches
    return load_workbook(io.BytesIO(response.data))


def test_the_plan_exports_to_a_workbook_of_numbers_and_the_export_is_audited(
    client, people, tree, make_campaign, clock
):
    campaign = make_campaign(scope="DN", by="admin")
    _give(campaign, tree["Q1"], points=500, outcome=100)
    plan = _plan(people, tree["DN"])
    manual = _target(people, plan, title="=Trung tâm hành chính công", value=95, key=True)
    _figure(people, manual, 95)
    _target(people, plan, title="Điểm", value=1000, source=f"points:{campaign.id}")
    login(client, "admin")
    assert client.get(f"/plans/{plan.id}/export").status_code == 405  # GET never writes an audit entry
    exported = _audit_count("export")
    book = _xlsx(_post(client, f"/plans/{plan.id}/export", {}, token_from=f"/plans/{plan.id}"))
    assert _audit_count("export") == exported + 1
    targets = list(book["Chỉ tiêu"].iter_rows(values_only=True))
    assert targets[0][:8] == (
        "STT",
        "Chỉ tiêu",
        "Trọng tâm",
        "Đơn vị tính",
        "Giá trị chỉ tiêu",
        "Đạt được",
        "Hạn",
        "Trạng thái",
    )
    assert targets[1][1] == "'=Trung tâm hành chính công"  # never a formula
    assert targets[1][4:6] == (95, 95) and targets[1][6].date() == date(2026, 12, 31)  # numbers and a date
    assert targets[1][7] == "Đã hoàn thành" and "Báo cáo số 12/BC-UBND" in targets[1][9]
    assert targets[2][5] == 500 and targets[2][7] == "Đúng tiến độ"
    summary = list(book["Tổng hợp"].iter_rows(values_only=True))
    assert summary[1][1:] == (1, 2, 50) and summary[2][1:] == (1, 1, 100)
    per_ward = {(row[0], row[1]): row[3] for row in book["Theo đơn vị"].iter_rows(min_row=2, values_only=True)}
    by_points = {row["name"]: row["points"] for row in _board(client, campaign, level="ward", metric="points")}
    assert per_ward == {(name, "Điểm"): points for name, points in by_points.items()}


def test_a_hand_entered_figure_needs_evidence_and_keeps_who_entered_it(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    target = _target(people, plan, value=10)
    path = f"/plans/{plan.id}/targets/{target.id}/figure"
    login(client, "admin")
    before = _audit_count()
    refused = _post(client, path, {"value": "7", "evidence": "", "evidence_url": ""})
    assert refused.status_code == 422
    assert 'id="evidence-error"' in refused.get_data(as_text=True)
    refused = _post(client, path, {"value": "7", "evidence_url": "javascript:alert(1)"})
    assert 'id="evidence_url-error"' in refused.get_data(as_text=True)
    db.session.refresh(target)
    assert target.manual_value is None and _audit_count() == before

    saved = _post(
        client, path, {"value": "7", "evidence": "Biên bản ngày 4/11", "evidence_url": "https://dongnai.gov.vn/bc"}
    )
    assert saved.status_code == 302
    db.session.refresh(target)
    assert (target.manual_value, target.entered_by_id, target.entered_at) == (7, people["admin"].id, clock())
    _post(client, path, {"value": "9", "evidence": "Báo cáo tháng 11"})
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "plan_target.figure")).all()
    assert [(entry.before["value"], entry.after["value"]) for entry in entries] == [(None, 7), (7, 9)]
    assert entries[1].after["evidence"] == "Báo cáo tháng 11" and entries[1].actor_id == people["admin"].id
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "Báo cáo tháng 11" in page and "Admin" in page


def test_a_metric_target_takes_no_hand_entered_figure(client, people, tree, make_campaign, clock):
    campaign = make_campaign(scope="DN", by="admin")
    plan = _plan(people, tree["DN"])
    target = _target(people, plan, source=f"points:{campaign.id}")
    login(client, "admin")
    response = _post(client, f"/plans/{plan.id}/targets/{target.id}/figure", {"value": "5", "evidence": "x"})
    assert response.status_code == 422
    assert "không nhập tay được" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target_value": "-1"}, "target_value", "Số phải từ 0 trở lên."),
        ({"target_value": "mười"}, "target_value", "Hãy nhập một số."),
        ({"target_value": "nan"}, "target_value", "Số phải từ 0 trở lên."),
        ({"target_value": "inf"}, "target_value", "Hãy nhập một số."),
        ({"deadline": "2026-10-31"}, "deadline", "Hạn không được trước ngày bắt đầu kế hoạch."),
        ({"deadline": "0001-01-01"}, "deadline", YEAR_MESSAGE),
        ({"deadline": "2100-01-01"}, "deadline", YEAR_MESSAGE),
        ({"deadline": "9999-12-31"}, "deadline", YEAR_MESSAGE),
        ({"source": "points:999999"}, "source", "Lựa chọn không hợp lệ."),
        ({"source": "outcomes:abc"}, "source", "Lựa chọn không hợp lệ."),
    ],
)
def test_bad_target_input_is_refused_beside_its_field_and_changes_nothing(
    client, people, tree, clock, changes, field, message
):
    plan = _plan(people, tree["DN"])
    login(client, "admin")
    path = f"/plans/{plan.id}/targets/new"
    before = _audit_count()
    data = {"title": "Chỉ tiêu", "unit_label": "%", "target_value": "80", "deadline": "2026-12-31", "source": "manual"}
    response = _post(client, path, data | changes)
    assert response.status_code == 422
    error = response.get_data(as_text=True).split(f'id="{field}-error"')[1].split("</div>")[0]
    assert message in error
    assert db.session.scalar(select(func.count()).select_from(PlanTarget)) == 0 and _audit_count() == before


@pytest.mark.parametrize("starts_on", ["0001-01-01", "1999-12-31", "2100-01-01"])
def test_a_plan_start_outside_2000_to_2099_is_refused_beside_its_field_and_changes_nothing(
    client, people, tree, clock, starts_on
):
    plan = _plan(people, tree["DN"])
    login(client, "admin")
    before = _audit_count()
    fields = {"title": "Mới", "unit": str(tree["DN"].id), "starts_on": starts_on}
    for path in ("/plans/new", f"/plans/{plan.id}/edit"):
        response = _post(client, path, fields)
        assert response.status_code == 422
        assert YEAR_MESSAGE in response.get_data(as_text=True).split('id="starts_on-error"')[1].split("</div>")[0]
    db.session.refresh(plan)
    assert (plan.title, plan.starts_on) == ("Kế hoạch 469-KH/TU", STARTS_ON) and _audit_count() == before
    assert db.session.scalar(select(func.count()).select_from(ActionPlan)) == 1


def test_a_year_outside_2000_to_2099_is_refused_in_english_too(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    login(client, "admin")
    english = "The year must be between 2000 and 2099."
    fields = {"title": "New", "unit": str(tree["DN"].id), "starts_on": "0001-01-01"}
    response = _post(client, "/plans/new?lang=en", fields)
    assert response.status_code == 422
    assert english in response.get_data(as_text=True).split('id="starts_on-error"')[1].split("</div>")[0]
    target = {"title": "Target", "target_value": "80", "deadline": "9999-12-31", "source": "manual"}
    response = _post(client, f"/plans/{plan.id}/targets/new?lang=en", target)
    assert response.status_code == 422
    assert english in response.get_data(as_text=True).split('id="deadline-error"')[1].split("</div>")[0]
    assert db.session.scalar(select(func.count()).select_from(PlanTarget)) == 0


def test_a_plan_cannot_start_after_one_of_its_deadlines(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    _target(people, plan, deadline=date(2026, 11, 10))
    login(client, "admin")
    path = f"/plans/{plan.id}/edit"
    response = _post(client, path, {"title": "Mới", "unit": str(tree["DN"].id), "starts_on": "2026-11-11"})
    assert response.status_code == 422 and 'id="starts_on-error"' in response.get_data(as_text=True)
    db.session.refresh(plan)
    assert plan.title == "Kế hoạch 469-KH/TU"


def test_a_plan_made_and_changed_through_the_pages_is_audited_at_every_step(client, people, tree, clock):
    login(client, "admin")
    created = _post(
        client, "/plans/new", {"title": "Kế hoạch 487-KH/TU", "unit": str(tree["DN"].id), "starts_on": "2026-11-01"}
    )
    plan = db.session.scalars(select(ActionPlan)).one()
    assert created.headers["Location"].endswith(f"/plans/{plan.id}")
    added = _post(
        client,
        f"/plans/{plan.id}/targets/new",
        {
            "title": "Bệnh án điện tử",
            "target_value": "100",
            "deadline": "2026-12-31",
            "source": "manual",
            "is_key": "y",
        },
    )
    assert added.status_code == 302
    target = db.session.scalars(select(PlanTarget)).one()
    assert target.is_key and target.source == "manual"
    _post(
        client,
        f"/plans/{plan.id}/targets/{target.id}/edit",
        {"title": "Bệnh án điện tử", "target_value": "90", "deadline": "2026-12-31", "source": "manual"},
    )
    db.session.refresh(target)
    assert target.target_value == 90 and not target.is_key
    _post(client, f"/plans/{plan.id}/targets/{target.id}/delete", {}, token_from=f"/plans/{plan.id}")
    _post(client, f"/plans/{plan.id}/delete", {}, token_from=f"/plans/{plan.id}")
    assert db.session.scalar(select(func.count()).select_from(ActionPlan)) == 0
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["plan.save", "plan_target.save", "plan_target.save", "plan_target.delete", "plan.delete"]
    edit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "plan_target.save")).all()[1]
    assert (edit.before["target_value"], edit.after["target_value"]) == (100, 90)


def test_edit_pages_start_from_what_is_saved(client, people, tree, make_campaign, clock):
    campaign = make_campaign(scope="DN", by="admin")
    plan = _plan(people, tree["W2"])
    target = _target(people, plan, source=f"points:{campaign.id}")
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="{tree["W2"].id}">', page)
    page = client.get(f"/plans/{plan.id}/targets/{target.id}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="points:{campaign.id}">', page)


def test_a_ward_leader_keeps_only_the_wards_plan(client, people, tree, clock):
    province = _plan(people, tree["DN"])
    w1 = _plan(people, tree["W1"], title="Kế hoạch phường 1")
    w2 = _plan(people, tree["W2"], title="Kế hoạch phường 2")
    target = _target(people, w2)
    login(client, "leader1")
    assert client.get(f"/plans/{w1.id}").status_code == 200
    listing = client.get("/plans").get_data(as_text=True)
    assert "Kế hoạch phường 1" in listing and "Kế hoạch phường 2" not in listing and "469-KH/TU" not in listing
    before = _audit_count()
    for plan in (province, w2):
        assert client.get(f"/plans/{plan.id}").status_code == 403
        assert client.get(f"/plans/{plan.id}/print").status_code == 403
        token = csrf_token(client, f"/plans/{w1.id}")
        assert client.post(f"/plans/{plan.id}/export", data={"csrf_token": token}).status_code == 403
        assert client.post(f"/plans/{plan.id}/delete", data={"csrf_token": token}).status_code == 403
    token = csrf_token(client, f"/plans/{w1.id}")
    figure = {"csrf_token": token, "value": "5", "evidence": "x"}
    assert client.post(f"/plans/{w2.id}/targets/{target.id}/figure", data=figure).status_code == 403
    assert client.post(f"/plans/{w1.id}/targets/{target.id}/figure", data=figure).status_code == 404
    # A leader may not put a plan on the province.
    refused = client.post(
        "/plans/new", data={"csrf_token": token, "title": "X", "unit": str(tree["DN"].id), "starts_on": "2026-11-01"}
    )
    assert refused.status_code == 422
    assert _audit_count() == before and db.session.scalar(select(func.count()).select_from(ActionPlan)) == 3
    created = client.post(
        "/plans/new", data={"csrf_token": token, "title": "Mới", "unit": str(tree["W1"].id), "starts_on": "2026-11-01"}
    )
    assert created.status_code == 302


@pytest.mark.parametrize("who", ["member", "teamlead"])
def test_members_and_team_leaders_are_refused(client, people, tree, clock, who):
    plan = _plan(people, tree["W1"])
    login(client, who)
    assert client.get("/plans").status_code == 403
    assert client.get(f"/plans/{plan.id}").status_code == 403
    assert client.get("/plans/new").status_code == 403


def test_pages_only_read(client, people, tree, make_campaign, clock):
    campaign = make_campaign(scope="DN", by="admin")
    plan = _plan(people, tree["DN"])
    target = _target(people, plan, source=f"points:{campaign.id}")
    login(client, "admin")
    before = _audit_count()
    for path in (
        "/plans",
        "/plans/new",
        f"/plans/{plan.id}",
        f"/plans/{plan.id}/print",
        f"/plans/{plan.id}/edit",
        f"/plans/{plan.id}/targets/new",
        f"/plans/{plan.id}/targets/{target.id}/edit",
    ):
        assert client.get(path).status_code == 200, path
    assert _audit_count() == before


def test_the_print_page_is_a_report_with_the_figures_and_no_buttons(client, people, tree, clock):
    plan = _plan(people, tree["DN"])
    _figure(people, _target(people, plan), 100)
    login(client, "admin")
    page = client.get(f"/plans/{plan.id}/print").get_data(as_text=True)
    assert 'class="report"' in page and "1/1 — 100%" in page and "signatures" in page
    assert "/delete" not in page and "/figure" not in page


def test_the_nav_leads_leaders_to_their_plans(client, people, clock):
    login(client, "leader1")
    assert 'href="/plans"' in client.get("/").get_data(as_text=True)


def test_the_plan_pages_read_the_same_statements_for_three_targets_or_twelve(client, people, tree, make_campaign):
    campaign = make_campaign(scope="DN", by="admin")
    course = Course(code="KNS", name="Kỹ năng số cơ bản", target_percent=50)
    db.session.add(course)
    db.session.commit()
    plans = []
    for count in (3, 12):  # each with a target of each source
        plan = _plan(people, tree["DN"], title=f"Kế hoạch {count}")
        for number in range(count):
            source = ("manual", f"points:{campaign.id}", f"trained:{course.id}")[number % 3]
            target = _target(people, plan, title=f"Chỉ tiêu {number}", source=source)
            if source == "manual":
                _figure(people, target, number)
        plans.append(plan)
    login(client, "admin")
    for path in ("/plans/{id}", "/plans/{id}/print"):
        costs = []
        for plan in plans:
            response, statements = request_statements(client, "GET", path.format(id=plan.id))
            assert response.status_code == 200
            costs.append(len(statements))
        assert costs[0] == costs[1], (path, costs)
    index_costs = []
    for more in range(2):
        _plan(people, tree["W1"], title=f"Kế hoạch phường {more}", by="leader1")
        response, statements = request_statements(client, "GET", "/plans")
        assert response.status_code == 200 and f"Kế hoạch phường {more}" in response.get_data(as_text=True)
        index_costs.append(len(statements))
    assert index_costs[0] == index_costs[1], index_costs  # each plan's count of targets not read one by one
