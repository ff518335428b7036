"""E-mail of notifications through the SMTP server of the settings (SMTP_*), with the standard library.

Called by the scheduler after the notifications were taken from the outbox and committed, never inside
a request or a decision: a mail server that is down costs nothing but a retry."""

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from flask import Flask
from flask_babel import force_locale

from core.urls import public_url_for
from models import Notification, User
from notifications.messages import message_of

SMTP_TIMEOUT_SECONDS = 10
SUBJECT_LENGTH = 70

log = logging.getLogger("thidua.notifications")


@dataclass(frozen=True)
class Mail:
    notification_id: int
    message: EmailMessage


def compose(app: Flask, rows: Sequence[tuple[Notification, User, str]]) -> list[Mail]:
    """One e-mail per notification, in its recipient's saved language; kinds this version cannot word
    are left out. Links are absolute, from PUBLIC_URL."""
    mails = []
    # url_for needs a request to build addresses; PUBLIC_URL is the one residents reach.
    with app.test_request_context("/", base_url=app.config["PUBLIC_URL"]):
        for notification, user, address in rows:
            with force_locale(user.language or app.config["BABEL_DEFAULT_LOCALE"]):
                message = message_of(notification)
                if message is None:
                    continue
                body = message.text
                if message.endpoint is not None:
                    body += "\n\n" + public_url_for(message.endpoint, **message.values)
            mail = EmailMessage()
            mail["From"] = app.config["SMTP_FROM"]
            mail["To"] = address
            text = " ".join(message.text.split())  # a reason typed on several lines: a header has one
            mail["Subject"] = "ThiĐua: " + (text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1] + "…")
            mail.set_content(body + "\n")
            mails.append(Mail(notification.id, mail))
    return mails


def deliver(config: dict, mails: Sequence[Mail]) -> list[int]:
    """Send the mails over one connection; the ids of those to try again (the server was down, or failed
    on them for now). A mail the server refuses for good (its recipient, its content) is not retried: it
    would be refused again."""
    done: set[int] = set()
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            for mail in mails:
                try:
                    smtp.send_message(mail.message)
                except smtplib.SMTPRecipientsRefused as error:
                    log.warning("Notification %d not e-mailed, recipient refused: %s", mail.notification_id, error)
                except smtplib.SMTPResponseException as error:
                    # One mail the server turns down (a content filter's 5xx) must not hold back the rest:
                    # a permanent refusal is dropped, a temporary one (4xx) is tried again next time.
                    log.warning("Notification %d not e-mailed: %s", mail.notification_id, error)
                    if error.smtp_code < 500:
                        continue
                done.add(mail.notification_id)
    except (smtplib.SMTPException, OSError) as error:
        log.warning("E-mail of notifications failed, tried again later: %s", error)
    return [mail.notification_id for mail in mails if mail.notification_id not in done]
