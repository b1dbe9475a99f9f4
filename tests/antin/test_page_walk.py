"""Every page a person can reach, walked as each kind of person would, in Vietnamese and in English.

From the pages each role starts on (the portal, their account, the console), every same-site link is followed, as a
person clicking would: none may lead to a 404, a refusal or a 5xx, and each page must speak the language chosen
(``<html lang>``), with no werkzeug sentence, raw permission key or traceback. The roles: a visitor signed out, an
official without administrative rights, the administrator of a province (Bắc Ninh) and the platform's
administrator. Then every GET route of the app must have been reached by the walk, or be listed in
:data:`NOT_LINKED` with the reason a person does not reach it by a link: a route added later without a way to it
(or with a link that breaks) fails here.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from directory.demo_data import DEMO_PASSWORD
from tests.admin.conftest import AdminPlatform, admin_platform, any_level  # noqa: F401  (the fixtures)
from tests.idp.rp import Browser

pytestmark = pytest.mark.slapd

# signed out; an official; Bắc Ninh's administrator; the platform's (the drafter of the demo's documents)
ROLES = (None, "huongdt", "tuanbv", "dungpt")
STARTS = ("/", "/documents", "/account", "/account/security", "/admin/", "/verify")
MAX_PER_SHAPE = 2  # pages of one shape (an official's page, a unit's page…) walked per role
MAX_PAGES = 160
NOT_A_PAGE = re.compile(r"^/(logout|lang/|pki/|api/|scim/|healthz|readyz|metrics|authorize|userinfo|csc/)")

# GET routes a person does not reach by following a link, and why (the walk checks all the others are reached)
NOT_LINKED: dict[str, str] = {
    "static": "Flask's own static folder (the platform serves none there)",
    "antin_ui.static": "stylesheets and scripts",
    "portal.static": "stylesheets and scripts",
    "console.static": "stylesheets and scripts",
    "verify_page.static": "stylesheets",
    "console.signin_callback": "the provider's redirect back, not a link",
    "console.signin": "the 'Sign in again' button of a refused sign-in",
    "portal.signin_callback": "the provider's redirect back, not a link",
    "login.interaction": "the password form posts to it; /authorize redirects a sign-in with a session there (walked)",
    "login.consent": "a third-party application's consent step (tests/idp/login)",
    "login.change_required": "an expired password's step (tests/idp/login)",
    "mfa.enrolment_step": "a required second factor's enrolment during sign-in (tests/idp/mfa)",
    "mfa.passkey_sign_in": "the passkey button's form on the sign-in page (tests/idp/mfa browser tests)",
    "mfa.recovery_codes": "linked from the security page once a second factor exists (tests/idp/mfa)",
    "mfa.second_step": "the second step of a sign-in with a factor (tests/idp/mfa)",
    "mfa.security_key_step": "a step-up to a security key (tests/admin/test_console_browser.py)",
    "portal.batch_confirm": "the inbox's 'sign the chosen documents' form (tests/portal/test_portal_batch*.py)",
    "portal.confirm": "reached from a document's placement form with a security key (tests/portal browser tests)",
    "portal.preview": "page images inside the document page",
    "portal.report": "the verification report of a signed document (tests/portal)",
    "console.import_preview": "after an upload (tests/admin/test_console_imports.py)",
    "console.import_progress": "after an upload (tests/admin/test_console_imports.py)",
    "console.import_report": "a CSV download after an import",
    "console.revoke_certificate": "a certificate's confirmation page (tests/admin/test_console_certificates.py)",
    "console.renew_seal": "an issued seal's confirmation page (tests/admin/test_console_seals.py)",
    "console.revoke_seal": "an issued seal's confirmation page (tests/admin/test_console_seals.py)",
    "console.reset_mfa": "shown only for an official with a second factor (tests/admin/test_console_writes.py)",
}
WERKZEUG_WORDS = ("The requested URL", "The server could not", "Traceback", "not allowed to ")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        elif tag == "html":
            self.lang = a.get("lang") or ""


@dataclass
class Walk:
    problems: list[str] = field(default_factory=list)
    endpoints: set[str] = field(default_factory=set)


def signed_in(platform: AdminPlatform, login: str | None, language: str) -> Browser:
    browser = Browser(platform.base_url)
    browser.session.cookies.set("antin_lang", language)
    browser.session.headers["Accept-Language"] = language
    if login is not None:
        page = browser.go(platform.base_url + "/account").page
        assert page is not None
        account = browser.login(page, login, DEMO_PASSWORD).page
        assert account is not None and account.status_code == 200, account
    return browser


def shape(path: str) -> str:
    """Pages of one kind: a path with its ids and names taken out."""
    parts = path.split("?", maxsplit=1)[0].split("/")
    return "/".join(p if p in KNOWN_WORDS else "*" for p in parts)


KNOWN_WORDS = {"", "admin", "documents", "account", "security", "officials", "units", "groups", "clients", "audit"}
KNOWN_WORDS |= {"grants", "import", "pki", "seals", "new", "edit", "move", "rename", "seal", "password", "disable"}
KNOWN_WORDS |= {"-", "verify", "history", "totp", "webauthn", "recovery-codes", "renew"}


def walk(platform: AdminPlatform, login: str | None, language: str, found: Walk) -> None:
    browser = signed_in(platform, login, language)
    adapter = platform.app.url_map.bind("localhost")
    seen: set[str] = set()
    per_shape: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque((start, "(start)") for start in STARTS)
    walked = 0
    while queue and walked < MAX_PAGES:
        path, came_from = queue.popleft()
        if path in seen or NOT_A_PAGE.match(path):
            continue
        seen.add(path)
        if per_shape.setdefault(shape(path), 0) >= MAX_PER_SHAPE:
            continue
        per_shape[shape(path)] += 1
        walked += 1
        outcome = browser.go(platform.base_url + path)
        who = f"{login or 'signed out'} ({language}) {path} from {came_from}"
        if outcome.page is None:  # a redirect out of the platform (an application's home)
            continue
        response = outcome.page
        final = urlsplit(response.url).path
        for reached in {path.split("?", maxsplit=1)[0], final}:  # the link's own route, and where its redirects ended
            try:
                endpoint, _args = adapter.match(reached, method="GET")
                found.endpoints.add(endpoint)
            except (NotFound, MethodNotAllowed):
                pass
        if response.status_code >= 400 and came_from != "(start)":
            found.problems.append(f"{who}: {response.status_code}")
            continue
        if response.status_code >= 500:
            found.problems.append(f"{who}: {response.status_code}")
            continue
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        parser = _Links()
        parser.feed(response.text)
        bilingual = final == "/verify"  # the public verification page speaks both languages at once, by design
        if parser.lang != language and not bilingual:
            found.problems.append(f"{who}: <html lang={parser.lang!r}>")
        for words in WERKZEUG_WORDS:
            if words in response.text:
                found.problems.append(f"{who}: shows {words!r}")
        if response.status_code >= 400 and any(urlsplit(urljoin(response.url, a)).path == final for a in parser.links):
            found.problems.append(f"{who}: a refusal whose way out leads back to it")
        for link in parser.links:
            target = urlsplit(urljoin(response.url, link))
            if target.netloc == urlsplit(platform.base_url).netloc and target.scheme in ("http", "https"):
                queue.append((target.path + (f"?{target.query}" if target.query else ""), final))


@pytest.fixture(scope="module")
def walked(admin_platform: AdminPlatform) -> Iterator[Walk]:  # noqa: F811
    from admin.console.pages import EXTENSION_KEY
    from idp.oidc.first_party import ensure_all_registered
    from signing.documents.demo import seed_demo_documents

    ensure_all_registered(admin_platform.instance)  # the portal and the console sign in as the provider's clients
    seed_demo_documents(admin_platform.instance)  # the demo's documents: the platform's administrator drafted them
    state = admin_platform.app.extensions[EXTENSION_KEY]
    required, state.required_acr = state.required_acr, None  # a password session opens the console (any_level)
    found = Walk()
    try:
        for login in ROLES:
            for language in ("vi", "en"):
                walk(admin_platform, login, language, found)
        yield found
    finally:
        state.required_acr = required


def test_no_link_leads_to_an_error_and_every_page_speaks_its_language(walked: Walk) -> None:
    assert walked.problems == []


def test_every_page_route_is_reached_by_the_walk_or_says_why_not(admin_platform: AdminPlatform, walked: Walk) -> None:  # noqa: F811
    pages = {
        rule.endpoint
        for rule in admin_platform.app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and not NOT_A_PAGE.match(rule.rule)
    }
    assert not set(NOT_LINKED) - pages, f"NOT_LINKED names routes that are gone: {set(NOT_LINKED) - pages}"
    unreached = pages - walked.endpoints - set(NOT_LINKED)
    assert not unreached, f"routes no link reaches: link to them or say why in NOT_LINKED: {sorted(unreached)}"
    linked_anyway = walked.endpoints & set(NOT_LINKED) - {"login.interaction"}
    assert not linked_anyway, f"routes the walk reached: take them out of NOT_LINKED: {sorted(linked_anyway)}"
