"""A notification in words, worded when shown from its kind and parameters: the bell in the reader's
language, an e-mail in the recipient's saved one (the caller forces that locale)."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from badges.services import BADGE_LABELS
from models import Notification
from notifications.services import Kind

DAY_FORMAT = "dd/MM/yyyy"
_BADGES: dict[str, Any] = {str(kind): label for kind, label in BADGE_LABELS.items()}


@dataclass(frozen=True)
class Message:
    text: str
    # Where the notification leads, as url_for's endpoint and values; None for nowhere.
    endpoint: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _in_language(params: dict[str, Any], name: str) -> str:
    """A name kept in both languages: the English one on English pages when there is one."""
    english = params.get(f"{name}_en") or ""
    language = get_locale()
    return english if english and language is not None and language.language == "en" else params.get(name, "")


def _day(text: str) -> str:
    return format_date(date.fromisoformat(text), DAY_FORMAT)


def _subject_day(notification: Notification) -> str:
    """The day a reminder is about, the last part of its subject ("campaign:3:2026-11-06")."""
    return _day(notification.subject.rpartition(":")[2])


def _campaign_message(notification: Notification) -> Message | None:
    campaign = notification.campaign
    if campaign is None:
        return None
    kind, title = notification.kind, campaign.title
    params = notification.params
    if kind == Kind.CAMPAIGN_STARTED:
        text = _("Chiến dịch “%(title)s” đã bắt đầu. Hãy tham gia!", title=title)
    elif kind == Kind.CAMPAIGN_ENDED:
        text = _("Chiến dịch “%(title)s” đã kết thúc; kết quả đã được chốt.", title=title)
    elif kind == Kind.CAMPAIGN_STARTS_TOMORROW:
        text = _("Chiến dịch “%(title)s” bắt đầu ngày mai, %(day)s.", title=title, day=_subject_day(notification))
    elif kind == Kind.CAMPAIGN_ENDS_TOMORROW:
        text = _(
            "Ngày mai, %(day)s, là ngày cuối của chiến dịch “%(title)s”.", title=title, day=_subject_day(notification)
        )
    elif kind == Kind.CONTRIBUTION_APPROVED:
        text = _(
            "Đóng góp “%(activity)s” ngày %(day)s trong chiến dịch “%(title)s” đã được duyệt.",
            activity=_in_language(params, "activity"),
            day=_day(params["day"]),
            title=title,
        )
    elif kind == Kind.CONTRIBUTION_REJECTED:
        text = _(
            "Đóng góp “%(activity)s” ngày %(day)s trong chiến dịch “%(title)s” bị từ chối. Lý do: %(reason)s",
            activity=_in_language(params, "activity"),
            day=_day(params["day"]),
            title=title,
            reason=params.get("reason", ""),
        )
    elif kind.startswith("badge:") and kind[6:] in _BADGES:
        text = _("Bạn nhận huy hiệu “%(badge)s” trong chiến dịch “%(title)s”.", badge=_BADGES[kind[6:]], title=title)
    else:
        return None
    return Message(text, "campaigns.detail", {"slug": campaign.slug})


def _other_message(notification: Notification) -> Message | None:
    kind, params = notification.kind, notification.params
    if kind == Kind.COMPLETION_VERIFIED:
        text = _("Khoá học “%(course)s” của bạn đã được xác nhận.", course=_in_language(params, "course"))
        return Message(text, "training.mine")
    if kind == Kind.COMPLETION_REJECTED:
        text = _(
            "Khoá học “%(course)s” của bạn bị từ chối. Lý do: %(reason)s",
            course=_in_language(params, "course"),
            reason=params.get("reason", ""),
        )
        return Message(text, "training.mine")
    if kind == Kind.LEADER_DIGEST:
        text = _(
            "Việc đang chờ bạn: %(contributions)d đóng góp cần duyệt, %(completions)d khoá học cần xác nhận.",
            contributions=params.get("contributions", 0),
            completions=params.get("completions", 0),
        )
        return Message(text, "campaigns.review" if params.get("contributions") else "training.verify_queue")
    return None


def message_of(notification: Notification) -> Message | None:
    """The words and the link of a notification; None for a kind this version cannot word."""
    return _campaign_message(notification) or _other_message(notification)
