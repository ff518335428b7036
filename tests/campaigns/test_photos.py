"""Evidence photos: huge images refused from the header, decoded outside any transaction, metadata gone."""

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageCms, PngImagePlugin
from sqlalchemy import func, select

import campaigns.photos
import campaigns.views
from campaigns.photos import UNUSED_GRACE
from campaigns.tasks import run_sweep
from core import storage
from models import Contribution, db
from tests.campaigns.test_logging import jpeg, log
from tests.conftest import activity, login
from tests.sql_budget import nothing_is_locked

SECRET = "nha-ong-Ba-0912345678"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(side: int) -> bytes:
    """A real, decodable black 1-bit PNG of side × side pixels, a few tens of kilobytes on disk."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte, then the packed pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 100) for _ in range(side // 100))
    idat += compressor.compress(row * (side % 100)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def stored_photos() -> set[str]:
    """The names in the configured store, as the app lists them."""
    return {item.name for item in storage.stored()}


def _stored(client) -> tuple[bytes, Image.Image]:
    name = db.session.scalar(select(Contribution.photo_name).order_by(Contribution.id.desc()))
    response = client.get(f"/evidence/{name}")
    data = response.data
    response.close()
    return data, Image.open(io.BytesIO(data))


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Contribution))


def test_a_huge_png_is_refused_from_its_header_without_decoding(client, people, make_campaign, monkeypatch):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    bomb = huge_png(13_000)  # 169 megapixels: gigabytes once decoded
    assert len(bomb) < 64 * 1024
    decoded = []
    monkeypatch.setattr(campaigns.photos, "_decode", lambda data: decoded.append(data))
    before = stored_photos()
    response = log(client, campaign, session_type, photo=bomb)
    assert response.status_code == 422
    assert "Ảnh quá lớn (169 megapixel); tối đa 40 megapixel." in response.get_data(as_text=True)
    assert decoded == []
    assert _count() == 0 and stored_photos() == before


def test_past_pillows_own_limit_the_refusal_still_says_how_large(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    # 225 megapixels: Pillow itself raises DecompressionBombError while opening it.
    response = log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=huge_png(15_000))
    assert response.status_code == 422
    assert "Ảnh quá lớn (225 megapixel); tối đa 40 megapixel." in response.get_data(as_text=True)
    assert _count() == 0


def test_a_photo_that_fails_to_decode_is_refused_cleanly(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, "PNG")
    damaged = buffer.getvalue()[: len(buffer.getvalue()) // 2]  # a valid header, then the data stops
    before = stored_photos()
    response = log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=damaged)
    assert response.status_code == 422
    assert "Tệp này không phải là ảnh hợp lệ." in response.get_data(as_text=True)
    assert _count() == 0 and stored_photos() == before


def test_jpeg_comment_exif_and_icc_profile_are_gone(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    original = Image.open(io.BytesIO(jpeg(size=(800, 600))))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    original.save(buffer, "JPEG", comment=SECRET.encode(), exif=original.getexif(), icc_profile=icc)
    assert SECRET.encode() in buffer.getvalue() and b"PhoneMaker" in buffer.getvalue()
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=buffer.getvalue()).status_code == 302
    data, stored = _stored(client)
    assert stored.size == (800, 600)
    assert SECRET.encode() not in data and b"PhoneMaker" not in data
    assert {"comment", "exif", "icc_profile"}.isdisjoint(stored.info) and not stored.getexif()


def test_png_text_chunks_are_gone(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", SECRET)  # tEXt
    text.add_text("Comment", SECRET, zip=True)  # zTXt
    text.add_itxt("Description", SECRET, lang="vi")  # iTXt
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 40)).save(buffer, "PNG", pnginfo=text)
    assert b"tEXt" in buffer.getvalue() and b"zTXt" in buffer.getvalue() and b"iTXt" in buffer.getvalue()
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=buffer.getvalue()).status_code == 302
    data, stored = _stored(client)
    assert stored.format == "JPEG" and stored.size == (640, 480)
    assert SECRET.encode() not in data
    assert {"Author", "Comment", "Description"}.isdisjoint(stored.info)


def test_a_phone_multi_picture_jpeg_is_accepted(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (640, 480), (200, 0, 0)), Image.new("RGB", (160, 120), (0, 0, 200))
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=buffer.getvalue()).status_code == 302
    _data, stored = _stored(client)
    assert stored.size == (640, 480)


def test_the_photo_is_decoded_with_no_transaction_open(client, people, make_campaign, monkeypatch):
    campaign = make_campaign()
    login(client, "member")
    real_decode = campaigns.photos._decode
    lock_free = []

    def decode_while_checking_the_lock(data: bytes) -> Image.Image:
        lock_free.append(nothing_is_locked())
        return real_decode(data)

    monkeypatch.setattr(campaigns.photos, "_decode", decode_while_checking_the_lock)
    response = log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(exif=False))
    assert response.status_code == 302
    assert lock_free == [True]
    assert _count() == 1


def test_the_photo_is_stored_with_no_transaction_open(client, people, make_campaign, monkeypatch):
    # An object store may take seconds to answer: under the write lock every writer would wait.
    campaign = make_campaign()
    login(client, "member")
    real_save = campaigns.photos.storage.save
    lock_free = []

    def save_while_checking_the_lock(name: str, data: bytes) -> None:
        lock_free.append(nothing_is_locked())
        real_save(name, data)

    monkeypatch.setattr(campaigns.photos.storage, "save", save_while_checking_the_lock)
    before = stored_photos()
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600))).status_code == 302
    assert lock_free == [True]
    assert stored_photos() - before == {db.session.scalar(select(Contribution.photo_name))}


def test_a_refused_log_keeps_one_photo_and_a_replayed_double_tap_leaves_none_behind(client, people, make_campaign):
    campaign = make_campaign()
    session_type = activity(campaign, "Buổi hướng dẫn")
    login(client, "member")
    before = stored_photos()
    refused = log(client, campaign, session_type, photo=jpeg(size=(800, 600)), occurred_on="2030-01-01")
    assert refused.status_code == 422
    kept = stored_photos() - before  # kept for the member's next try (test_log_form.py); unused, swept
    assert len(kept) == 1 and _count() == 0
    before |= kept
    key = "k" * 32
    assert log(client, campaign, session_type, photo=jpeg(size=(800, 600)), idempotency_key=key).status_code == 302
    assert log(client, campaign, session_type, photo=jpeg(size=(640, 480)), idempotency_key=key).status_code == 302
    assert _count() == 1
    assert stored_photos() - before == {db.session.scalar(select(Contribution.photo_name))}


def test_a_failure_other_than_a_refusal_discards_the_stored_photo(client, people, make_campaign, monkeypatch):
    campaign = make_campaign()
    login(client, "member")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the service")

    monkeypatch.setattr(campaigns.views, "log_contributions", broken)
    before = stored_photos()
    with pytest.raises(RuntimeError):  # TESTING propagates it; in production it is the 500 page
        log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600)))
    assert stored_photos() == before and _count() == 0


def test_the_campaigns_sweep_deletes_old_photos_no_contribution_names(
    app, client, people, make_campaign, clock, tmp_path
):
    # A photo whose request died after storing it (a commit that failed, a killed worker) has no row.
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")  # this test's photos alone
    campaign = make_campaign()
    login(client, "member")
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600))).status_code == 302
    named = db.session.scalar(select(Contribution.photo_name))
    orphan = "o" * 24 + ".jpg"
    storage.save(orphan, b"\xff\xd8 no row names this")
    storage.save("notes.txt", b"not a name the app makes: never the sweep's to delete")

    clock.moment = datetime.now(UTC) + UNUSED_GRACE - timedelta(hours=1)  # maybe still on its way
    assert run_sweep(app)["unused_photos"] == 0
    clock.advance(minutes=30)
    assert "unused_photos" not in run_sweep(app)  # once an hour, not every sweep
    clock.advance(hours=1)
    assert run_sweep(app)["unused_photos"] == 1
    assert orphan not in stored_photos() and {named, "notes.txt"} <= stored_photos()
    assert client.get(f"/evidence/{named}").status_code == 200


def test_a_store_that_fails_during_the_sweep_holds_up_no_campaign_event(app, people, make_campaign, clock, monkeypatch):
    make_campaign(days=2)
    clock.advance(days=10)

    def failing():
        raise storage.StorageError("cannot list the store")

    monkeypatch.setattr(storage, "stored", failing)
    assert run_sweep(app) == {"announced": 0, "frozen": 1}


# --- the directory backend (EVIDENCE_DIR): serving, a missing file, a directory that cannot be written ---


def test_the_evidence_route_serves_the_stored_bytes_privately(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600))).status_code == 302
    name = db.session.scalar(select(Contribution.photo_name))
    response = client.get(f"/evidence/{name}")
    assert response.status_code == 200
    assert response.data == storage.read(name)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/evidence/{name}", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_photo_missing_from_the_directory_is_the_apps_404_page(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "member")
    assert log(client, campaign, activity(campaign, "Buổi hướng dẫn"), photo=jpeg(size=(800, 600))).status_code == 302
    name = db.session.scalar(select(Contribution.photo_name))
    storage.delete(name)
    response = client.get(f"/evidence/{name}")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_a_directory_that_cannot_be_written_refuses_the_upload_and_nothing_is_written(
    app, client, people, make_campaign, tmp_path
):
    # A path through a plain file: mkdir fails for root too, as a missing or read-only volume would.
    (tmp_path / "not-a-directory").write_text("")
    app.config["EVIDENCE_DIR"] = str(tmp_path / "not-a-directory" / "evidence")
    campaign = make_campaign(template="paperless_week")
    login(client, "member")
    response = log(client, campaign, activity(campaign, "Ngày không giấy"), photo=jpeg(size=(800, 600)))
    assert response.status_code == 422
    assert "Chưa lưu được ảnh minh chứng vì kho ảnh không phản hồi" in response.get_data(as_text=True)
    assert _count() == 0
