"""Find the login form in a provider's page and fill it in, the way a person's browser submits it.

Hidden fields (CSRF tokens, interaction ids) are sent back as they came; the adapter of each provider only
names the fields that take the login and the password when the page does not make them obvious.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["FormNotFoundError", "HtmlForm", "LoginFields", "fill_login_form", "parse_forms"]


class FormNotFoundError(Exception):
    """The page has no form with a password field: not a login page (or an error page)."""


@dataclass(frozen=True)
class LoginFields:
    """The names of the fields a provider's login form uses; ``None`` finds them from the page."""

    login: str | None = None
    password: str | None = None


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    text_inputs: list[str] = field(default_factory=list)
    password_inputs: list[str] = field(default_factory=list)
    submit: tuple[str, str] | None = None


LOGIN_NAMES = ("username", "login", "uid", "email", "user", "identifier")


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self._current: HtmlForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self._current = HtmlForm(action=action, method=(a.get("method") or "get").upper())
            self.forms.append(self._current)
            return
        form = self._current
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "password":
                form.password_inputs.append(name)
            elif kind in ("text", "email", ""):
                form.text_inputs.append(name)
                form.fields.setdefault(name, a.get("value", ""))
            elif kind in ("submit", "image"):
                if form.submit is None:
                    form.submit = (name, a.get("value", ""))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
            else:
                form.fields[name] = a.get("value", "")
        elif tag == "button" and name and a.get("type", "submit").lower() == "submit" and form.submit is None:
            form.submit = (name, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_forms(html: str, page_url: str) -> list[HtmlForm]:
    parser = _FormParser(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms


def fill_login_form(
    html: str, page_url: str, login: str, password: str, names: LoginFields = LoginFields()
) -> tuple[str, dict[str, str]]:
    """The URL to POST to and the fields to send for the first form of the page that asks for a password."""
    for form in parse_forms(html, page_url):
        if not form.password_inputs or form.method != "POST":
            continue
        password_name = names.password or form.password_inputs[0]
        login_name = names.login or next(
            (n for n in form.text_inputs if n.lower() in LOGIN_NAMES), form.text_inputs[0] if form.text_inputs else None
        )
        if login_name is None:
            continue
        data = dict(form.fields)
        data[login_name] = login
        data[password_name] = password
        if form.submit is not None:
            data.setdefault(form.submit[0], form.submit[1])
        return form.action, data
    raise FormNotFoundError(f"no login form at {page_url}")
