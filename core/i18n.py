"""Language choice: ?lang=vi|en switches and a cookie remembers it; Vietnamese by default."""

from urllib.parse import urlencode

from flask import current_app, g, has_request_context, request

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


def remember_language(response):
    """after_request: keep an explicit ?lang= choice for later visits."""
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def current_language() -> str:
    if "lang" not in g:
        g.lang = select_locale()
    return g.lang


def language_switch_url(language: str) -> str:
    """This very page in another language: its query string is kept (a quiz link's quarter must not
    be lost on the way, or the points would go to another quarter), only `lang` changes."""
    arguments = request.args.to_dict(flat=False)
    arguments["lang"] = [language]
    return f"{request.path}?{urlencode(arguments, doseq=True)}"
