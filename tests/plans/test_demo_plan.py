"""The demo shows the province's plan as its steering committee reported it (seed article 003)."""

import re

from sqlalchemy import func, select

from demo.seed import DEMO_PASSWORD
from models import ActionPlan, db
from tests.conftest import login


def test_the_demo_plan_reports_26_of_43_targets_and_6_of_8_key_targets(runner, client):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0  # idempotent: still one plan
    plan = db.session.scalars(select(ActionPlan)).one()
    assert len(plan.targets) == 43 and db.session.scalar(select(func.count()).select_from(ActionPlan)) == 1
    login(client, "admin", DEMO_PASSWORD)
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "26/43 — 60,5%" in page and "6/8 — 75%" in page
    assert 'id="unit-DN-BINHLOC"' in page  # the wards' figures for the live targets
    links = set(re.findall(r'href="(/plans[^"]*)"', page))
    assert len(links) > 43  # each target's edit and figure pages, the print page, the plan's edit page
    for link in sorted(links):
        assert client.get(link).status_code == 200, link
        assert client.get(f"{link}?lang=en").status_code == 200, link


def test_a_ward_leader_of_the_demo_sees_the_plans_page_but_not_the_province_plan(runner, client):
    runner.invoke(args=["seed-demo"])
    plan = db.session.scalars(select(ActionPlan)).one()
    login(client, "binhloc.leader", DEMO_PASSWORD)
    assert client.get("/plans").status_code == 200
    assert client.get(f"/plans/{plan.id}").status_code == 403
