"""The log form in the field (issue 11, item 10): a refused submission keeps its photo for the next try,
through a reference only its member can use for a while; a check-in shows only what it uses."""

import secrets
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy import func, select

from campaigns.photos import KEPT_FOR, UNUSED_GRACE
from campaigns.tasks import run_sweep
from models import Contribution, db
from tests.campaigns.test_logging import jpeg, log
from tests.campaigns.test_photos import stored_photos
from tests.conftest import activity, csrf_from, login

REFUSED_DAY = "2030-01-01"  # after the campaign: refused by the rules, once the photo is stored
KEPT = "được giữ lại, không cần chọn lại"
CHOOSE_AGAIN = "Ảnh đã chọn lúc trước không còn được giữ lại. Hãy chọn lại ảnh."


class _Controls(HTMLParser):
    """The form controls of a page: visible ones by name, hidden inputs with their values."""

    def __init__(self, html: str):
        super().__init__()
        self.visible: set[str] = set()
        self.hidden: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag not in {"input", "select", "textarea"} or not attributes.get("name"):
            return
        if attributes.get("type") == "hidden":
            self.hidden[attributes["name"]] = attributes.get("value") or ""
        else:
            self.visible.add(attributes["name"])


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Contribution))


def _kept_reference(response) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and KEPT in html
    return _Controls(html).hidden["kept_photo"]


def _fields_for(client, activity_type) -> _Controls:
    """The controls of the log form's fragment for this activity, as the activity picker swaps it in."""
    url = f"/campaigns/{activity_type.campaign.slug}/log?activity_type={activity_type.id}"
    return _Controls(client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True))


def _refused_with_photo(client, campaign, session_type) -> str:
    """Log with a photo on a day the rules refuse; the reference to the kept photo the form comes back with."""
    return _kept_reference(log(client, campaign, session_type, photo=jpeg(size=(800, 600)), occurred_on=REFUSED_DAY))


def test_a_refused_log_keeps_the_photo_and_the_next_try_uses_it(client, people, make_campaign):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")  # evidence required
    login(client, "member")
    before = stored_photos()
    reference = _refused_with_photo(client, campaign, session_type)
    kept = stored_photos() - before
    assert len(kept) == 1 and _count() == 0
    # Refused again (still the wrong day) without choosing it again: still kept, the same reference.
    assert _kept_reference(log(client, campaign, session_type, kept_photo=reference, occurred_on=REFUSED_DAY)) == (
        reference
    )
    assert log(client, campaign, session_type, kept_photo=reference).status_code == 302
    assert {db.session.scalar(select(Contribution.photo_name))} == kept == stored_photos() - before


def test_a_new_photo_replaces_the_kept_one(client, people, make_campaign):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    before = stored_photos()
    reference = _refused_with_photo(client, campaign, session_type)
    first = stored_photos() - before
    assert log(client, campaign, session_type, kept_photo=reference, photo=jpeg(size=(640, 480))).status_code == 302
    named = db.session.scalar(select(Contribution.photo_name))
    assert named not in first  # the replaced one is left to the sweep


def test_a_kept_photo_works_only_for_its_member_within_the_window_and_once(
    client, app, people, make_user, tree, make_campaign, clock
):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    reference = _refused_with_photo(client, campaign, session_type)

    neighbour = app.test_client()
    make_user("neighbour", "member", tree["Q1"])
    login(neighbour, "neighbour")
    tampered = reference[:-2] + ("AA" if not reference.endswith("AA") else "BB")
    for who, claimed in ((neighbour, reference), (client, tampered), (client, "nonsense")):
        response = log(who, campaign, session_type, kept_photo=claimed)
        assert response.status_code == 422 and CHOOSE_AGAIN in response.get_data(as_text=True)
    assert _count() == 0

    clock.advance(seconds=KEPT_FOR.total_seconds() + 1)
    expired = log(client, campaign, session_type, kept_photo=reference)
    assert expired.status_code == 422 and CHOOSE_AGAIN in expired.get_data(as_text=True)
    assert KEPT not in expired.get_data(as_text=True) and _count() == 0

    clock.advance(seconds=-2)  # back inside the window: it works, once
    assert log(client, campaign, session_type, kept_photo=reference).status_code == 302
    again = log(client, campaign, session_type, kept_photo=reference, idempotency_key=secrets.token_hex(16))
    assert again.status_code == 422 and CHOOSE_AGAIN in again.get_data(as_text=True)
    assert _count() == 1


def test_a_form_refused_before_the_rules_says_the_photo_must_be_chosen_again(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    before = stored_photos()
    response = log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600)), quantity="a")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ảnh đã chọn chưa được lưu: hãy chọn lại ảnh trước khi gửi." in html and KEPT not in html
    assert stored_photos() == before and _count() == 0


def test_a_kept_photo_never_used_is_deleted_by_the_sweep(app, client, people, make_campaign, clock, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")  # this test's photos alone
    campaign = make_campaign()
    login(client, "member")
    _refused_with_photo(client, campaign, activity(campaign, "Buổi hướng dẫn"))
    assert len(stored_photos()) == 1
    clock.moment = datetime.now(UTC) + UNUSED_GRACE + timedelta(minutes=1)
    assert run_sweep(app)["unused_photos"] == 1
    assert stored_photos() == set()


def test_a_check_in_shows_only_the_activity_and_still_logs(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    check_in = activity(campaign, "Ngày không giấy")
    login(client, "member")
    controls = _fields_for(client, check_in)
    assert controls.visible == {"activity_type"}
    assert controls.hidden["quantity"] == "1" and controls.hidden["occurred_on"] == "2026-11-05"
    assert controls.hidden["beneficiary_quarter"] == "Q1"
    # What the page sends is what the member sends: one tap on "Gửi".
    page = client.get(f"/campaigns/{campaign.slug}/log?activity_type={check_in.id}").get_data(as_text=True)
    form = _Controls(page).hidden | {"activity_type": str(check_in.id), "csrf_token": csrf_from(page)}
    assert client.post(f"/campaigns/{campaign.slug}/log", data=form).status_code == 302
    assert _count() == 1
    # Hidden or not, the server checks what is posted as before.
    refused = log(client, campaign, check_in, quantity="3", occurred_on="2026-11-04")
    assert refused.status_code == 422 and "Vượt giới hạn 1 ngày mỗi ngày" in refused.get_data(as_text=True)


def test_an_activity_a_leader_reviews_shows_every_field_it_uses(client, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    login(client, "member")
    controls = _fields_for(client, files)
    assert controls.visible == {"activity_type", "quantity", "beneficiary_quarter", "occurred_on", "note", "photo"}
    signature = activity(make_campaign(), "chữ ký số")
    controls = _fields_for(client, signature)
    assert {"beneficiaries", "consent", "beneficiary_quarter"} <= controls.visible
    assert "quantity" not in controls.visible | set(controls.hidden)
