import io
import secrets

from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from models import Contribution, LedgerEntry, MemberScore, OutcomeCount, UnitScore, db
from scoring import verify
from tests.conftest import activity, csrf_from, login
from tests.sql_budget import request_statements


def log(client, campaign, activity_type, photo=None, **fields):
    page = client.get(f"/campaigns/{campaign.slug}/log")
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "idempotency_key": secrets.token_hex(16),
        "activity_type": str(activity_type.id),
        "quantity": "1",
        "occurred_on": "2026-11-05",
        "beneficiary_quarter": "Q1",
        "note": "",
    } | fields
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "photo.jpg")
    # Werkzeug spools big uploads to a temporary file that only the builder's close() releases.
    environ = EnvironBuilder(path=f"/campaigns/{campaign.slug}/log", method="POST", data=data).get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()


def jpeg(size=(2400, 1800), exif=True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    extra = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # camera make
        data[0x8825] = {1: "N", 2: (10.0, 57.0, 0.0)}  # GPS
        extra["exif"] = data.tobytes()
    image.save(buffer, "JPEG", **extra)
    return buffer.getvalue()


def _count(model=Contribution):
    return db.session.scalar(select(func.count()).select_from(model))


def test_paperless_check_in_scores_at_once_for_member_and_every_unit(client, people, tree, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "Ngày không giấy")
    login(client, "member")
    response = log(client, campaign, check_in)
    assert response.status_code == 302
    assert db.session.scalar(select(MemberScore.points)) == 10
    scores = dict(db.session.execute(select(UnitScore.unit_id, UnitScore.points)).all())
    # Home quarter Q1, team T1, youth union Y1 and their ancestors W1, DN: each exactly once.
    assert scores == {tree[code].id: 10 for code in ("DN", "W1", "Q1", "T1", "Y1")}
    assert verify() == []
    html = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "Đã ghi nhận và cộng điểm." in html and "Đã duyệt" in html


def test_over_the_daily_cap_is_refused_and_changes_nothing(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "Ngày không giấy")
    login(client, "member")
    assert log(client, campaign, check_in).status_code == 302
    response = log(client, campaign, check_in)
    assert response.status_code == 422
    assert "Vượt giới hạn 1 ngày mỗi ngày cho mỗi người (đã ghi 1)." in response.get_data(as_text=True)
    assert _count() == 1 and _count(LedgerEntry) == 1
    assert log(client, campaign, check_in, occurred_on="2026-11-04").status_code == 302


def test_dates_outside_the_campaign_or_in_the_future_are_refused(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "Ngày không giấy")
    login(client, "member")
    for day in ("2026-11-01", "2026-11-06", ""):
        response = log(client, campaign, check_in, occurred_on=day)
        assert response.status_code == 422, day
        assert "Ngày thực hiện phải từ 02/11/2026 đến 05/11/2026." in response.get_data(as_text=True)
    assert _count() == 0


def test_bad_quantity_is_refused(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    login(client, "member")
    for quantity in ("0", "-3", "5000"):
        assert log(client, campaign, files, quantity=quantity).status_code == 422
    assert "Số lượng phải từ 1 đến 1000." in log(client, campaign, files, quantity="0").get_data(as_text=True)
    assert _count() == 0


def test_each_beneficiary_counts_once_and_only_a_hash_is_kept(client, people, make_campaign):
    campaign = make_campaign()
    signature = activity(campaign, "chữ ký số")
    login(client, "member")
    response = log(client, campaign, signature, beneficiaries="0912 345 678\n+84 987 654 321", consent="y")
    assert response.status_code == 302
    rows = db.session.scalars(select(Contribution).order_by(Contribution.id)).all()
    assert [row.beneficiary_last3 for row in rows] == ["678", "321"] and all(row.quantity == 1 for row in rows)
    assert all(row.beneficiary_consent for row in rows)
    stored = " ".join(str(value) for row in rows for value in vars(row).values())
    assert "0912345678" not in stored and "912345678" not in stored
    response = log(client, campaign, signature, beneficiaries="0912345678", consent="y", occurred_on="2026-11-04")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Người có số *******678 đã được ghi nhận cho hoạt động này ngày 05/11/2026" in html
    assert _count() == 2
    page = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "*******678" in page and "0912345678" not in page


def test_beneficiary_numbers_need_consent_and_must_be_valid(client, people, make_campaign):
    campaign = make_campaign()
    signature = activity(campaign, "chữ ký số")
    login(client, "member")
    html = log(client, campaign, signature, beneficiaries="0912345678").get_data(as_text=True)
    assert "Hãy xác nhận người được hỗ trợ đồng ý" in html
    html = log(client, campaign, signature, beneficiaries="12345", consent="y").get_data(as_text=True)
    assert "“12345” không phải số điện thoại hay số CCCD hợp lệ." in html
    html = log(client, campaign, signature, beneficiaries="", consent="y").get_data(as_text=True)
    assert "hãy nhập số điện thoại hoặc số CCCD" in html
    assert _count() == 0


def test_helping_another_quarter_moves_that_quarters_coverage(client, people, tree, make_unit, make_campaign):
    other = make_unit("Q3", "quarter", tree["W1"], adult_population=1500)
    campaign = make_campaign()
    signature = activity(campaign, "chữ ký số")
    login(client, "member")
    log(client, campaign, signature, beneficiaries="0912345678", consent="y", beneficiary_quarter="Q3")
    contribution = db.session.scalar(select(Contribution))
    client = client.application.test_client()
    login(client, "teamlead")
    client.post(f"/review/{contribution.id}/approve", data={"csrf_token": csrf_from(client.get("/review").text)})
    outcomes = dict(db.session.execute(select(OutcomeCount.unit_id, OutcomeCount.count)).all())
    assert outcomes == {tree["DN"].id: 1, tree["W1"].id: 1, other.id: 1}
    points = dict(db.session.execute(select(UnitScore.unit_id, UnitScore.points)).all())
    assert points[tree["Q1"].id] == 5 and other.id not in points
    assert verify() == []


def test_double_tap_creates_one_contribution(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    login(client, "member")
    key = secrets.token_hex(16)
    assert log(client, campaign, files, idempotency_key=key, quantity="3").status_code == 302
    assert log(client, campaign, files, idempotency_key=key, quantity="3").status_code == 302
    assert _count() == 1


def test_logging_outside_an_active_campaign_or_scope_is_refused(client, people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    other = client.application.test_client()
    login(other, "member2")
    assert other.get(f"/campaigns/{campaign.slug}/log").status_code == 403
    login(client, "member")
    clock.advance(days=60)
    response = log(client, campaign, files, occurred_on="2026-11-05")
    assert "Chiến dịch không đang diễn ra, không thể ghi nhận." in response.get_data(as_text=True)
    assert _count() == 0


def test_photo_is_decoded_shrunk_and_stripped(client, app, people, make_campaign):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    assert "cần ảnh minh chứng" in log(client, campaign, session_type).get_data(as_text=True)
    assert log(client, campaign, session_type, photo=jpeg()).status_code == 302
    contribution = db.session.scalar(select(Contribution))
    response = client.get(f"/evidence/{contribution.photo_name}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    stored = Image.open(io.BytesIO(response.data))
    assert max(stored.size) == 1600
    assert not stored.getexif()
    assert b"PhoneMaker" not in response.data
    response.close()


def test_bad_photos_are_refused(client, people, make_campaign):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    html = log(client, campaign, session_type, photo=b"<?php echo 'hi'; ?>").get_data(as_text=True)
    assert "Tệp này không phải là ảnh hợp lệ." in html
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert "Chỉ nhận ảnh JPEG, PNG hoặc WebP." in log(client, campaign, session_type, photo=gif.getvalue()).text
    huge = jpeg(exif=False) + b"\0" * (5 * 1024 * 1024)
    assert "Ảnh lớn hơn 5 MB" in log(client, campaign, session_type, photo=huge).get_data(as_text=True)
    assert _count() == 0


def test_photos_are_shown_only_to_the_member_and_their_leaders(app, client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(exif=False))
    url = f"/evidence/{db.session.scalar(select(Contribution.photo_name))}"
    expected = {"member": 200, "teamlead": 200, "leader1": 200, "admin": 200, "member2": 403, "leader2": 403}
    for username, status in expected.items():
        viewer = app.test_client()
        login(viewer, username)
        response = viewer.get(url)
        response.close()
        assert response.status_code == status, username
    assert app.test_client().get(url).status_code == 302


def test_log_form_fragment_follows_the_chosen_activity(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    signature = activity(campaign, "chữ ký số")
    session_type = activity(campaign, "Buổi hướng dẫn")
    full = client.get(f"/campaigns/{campaign.slug}/log").get_data(as_text=True)
    assert "<html" in full and 'name="beneficiaries"' in full
    fragment = client.get(
        f"/campaigns/{campaign.slug}/log?activity_type={session_type.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and 'name="quantity"' in fragment and 'name="beneficiaries"' not in fragment
    assert "Bắt buộc cho hoạt động này." in fragment
    assert signature.id != session_type.id


def test_a_copy_replayed_after_the_campaign_ended_gets_the_first_answer(client, people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    login(client, "member")
    key = secrets.token_hex(16)
    assert log(client, campaign, files, idempotency_key=key, quantity="3").status_code == 302
    clock.advance(days=60)
    assert log(client, campaign, files, idempotency_key=key, quantity="3").status_code == 302
    assert _count() == 1


def test_work_approved_at_once_is_credited_in_the_same_few_statements_however_many_people(
    client, people, make_campaign
):
    campaign = make_campaign()
    signature = activity(campaign, "chữ ký số")
    signature.needs_verification = False
    signature.cap_per_member = None
    db.session.commit()
    login(client, "member")

    def statements_for(numbers: list[str]) -> int:
        page = client.get(f"/campaigns/{campaign.slug}/log")
        data = {
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "idempotency_key": secrets.token_hex(16),
            "activity_type": str(signature.id),
            "quantity": "1",
            "occurred_on": "2026-11-05",
            "beneficiary_quarter": "Q1",
            "beneficiaries": "\n".join(numbers),
            "consent": "y",
        }
        response, statements = request_statements(client, "POST", f"/campaigns/{campaign.slug}/log", data=data)
        assert response.status_code == 302
        return len(statements)

    two = statements_for([f"09120000{n:02d}" for n in range(2)])
    twelve = statements_for([f"09130000{n:02d}" for n in range(12)])
    # One INSERT per contribution at most: "counted once", the ledger, the aggregates and the badges
    # are checked and written for all of them together.
    assert twelve - two <= 10
    assert _count() == 14
    assert db.session.scalar(select(func.sum(MemberScore.points))) == 14 * signature.points
    assert verify() == []
