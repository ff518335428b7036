from datetime import date

from sqlalchemy import select

from models import Course, db
from tests.conftest import csrf_token, login
from training.services import report_completion, seed_courses


def test_my_data_download_includes_my_training(app, people, clock):
    """It crashed for anyone with a training record (it read a field the course does not have)."""
    seed_courses()
    course = db.session.scalars(select(Course).order_by(Course.id)).first()
    report_completion(people["member"], course, date(2026, 11, 3), "CERT-42", clock())
    db.session.commit()
    client = app.test_client()
    login(client, "member")
    response = client.post("/me/data.json", data={"csrf_token": csrf_token(client, "/me")})
    assert response.status_code == 200
    [training] = response.get_json(force=True)["training"]
    assert training == {
        "course": course.name,
        "completed_on": "2026-11-03",
        "certificate_code": "CERT-42",
        "source": "self",
        "status": "pending",
    }
