"""Language choice, first that applies: `?lang=vi|en` on the address, the cookie a choice left (signing
in sets it from the account's saved choice, so a member's new phone follows), the client's
Accept-Language for the JSON API, and Vietnamese. Never the database: error pages built without it
choose their language too."""

from urllib.parse import urlencode

from flask import Response, current_app, g, has_request_context, request

LANG_COOKIE = "lang"
API_PREFIX = "/api/"


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in languages:
            return candidate
    if request.path.startswith(API_PREFIX):
        # A program has no language link to click and no cookie: it says what it reads in its header.
        chosen = request.accept_languages.best_match(languages)
        if chosen:
            return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def set_language_cookie(response: Response, language: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def remember_language(response: Response) -> Response:
    """after_request: keep an explicit ?lang= choice for later visits."""
    chosen = request.args.get("lang")
    if chosen is not None and chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        set_language_cookie(response, chosen)
    return response


def current_language() -> str:
    if "lang" not in g:
        g.lang = select_locale()
    return g.lang


def page_without_language() -> str:
    """This page's address with its query string but no `lang`, where a language form sends the visitor
    back: a `lang` left in it would override the choice just made."""
    arguments = request.args.to_dict(flat=False)
    arguments.pop("lang", None)
    query = urlencode(arguments, doseq=True)
    return f"{request.path}?{query}" if query else request.path


def in_language(record: object, field: str = "name") -> str:
    """A text typed in Vietnamese (an activity's or a course's name, a question), in English on English
    pages when someone gave the English too (`<field>_en`). The Vietnamese is `<field>`, or
    `<field>_vi` where a record names both languages (the question bank)."""
    english = getattr(record, f"{field}_en", "")
    if current_language() == "en" and english:
        return english
    return getattr(record, field) if hasattr(record, field) else getattr(record, f"{field}_vi")
