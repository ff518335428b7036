from sqlalchemy import func, select

from demo.seed import DEMO_PASSWORD
from models import Unit, User, db
from tests.conftest import login


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Unit)),
        db.session.scalar(select(func.count()).select_from(User)),
    )


def test_small_demo_is_idempotent_and_prints_logins(runner, client):
    first = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert first.exit_code == 0, first.output
    assert "binhloc.leader" in first.output and DEMO_PASSWORD in first.output
    counts = _counts()
    assert counts[0] > 100 and counts[1] > 300
    second = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert second.exit_code == 0 and "Added 0 units and 0 users" in second.output
    assert _counts() == counts
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert _counts() == counts


def test_small_demo_has_the_wards_from_the_articles(runner):
    runner.invoke(args=["seed-demo"])
    names = set(db.session.scalars(select(Unit.name).where(Unit.kind.in_(["ward", "commune"]))))
    assert {
        "Phường Bình Lộc",
        "Phường Tam Phước",
        "Xã Đại Phước",
        "Xã Đông Tâm",
        "Phường Minh Hưng",
        "Xã Xuân Hòa",
    } == names
    binh_loc = db.session.scalar(select(Unit).where(Unit.name == "Phường Bình Lộc"))
    quarters = db.session.scalars(select(Unit).where(Unit.parent_id == binh_loc.id, Unit.kind == "quarter")).all()
    assert len(quarters) == 11 and "Khu phố Cáp Rang" in {quarter.name for quarter in quarters}


def test_every_demo_login_works(runner, app):
    runner.invoke(args=["seed-demo"])
    for username in ("admin", "binhloc.leader", "caprang.leader", "caprang.member"):
        assert login(app.test_client(), username, DEMO_PASSWORD).status_code == 302, username


def test_province_demo_has_province_scale(runner):
    result = runner.invoke(args=["seed-demo", "--scale", "province"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(select(Unit.kind, func.count()).group_by(Unit.kind)).all())
    assert kinds["ward"] + kinds["commune"] == 95
    assert 900 <= kinds["quarter"] <= 1100 and 1800 <= kinds["team"] <= 2200
    assert 12_000 <= db.session.scalar(select(func.count()).select_from(User)) <= 14_500
