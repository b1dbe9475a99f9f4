"""Target ``oauth``: the parameters of ``/authorize``, ``/par``, ``/token`` (and ``/introspect``, ``/revoke``,
``/userinfo``) as a client or a browser sends them, through the Flask test client of a real provider app
(:mod:`tests.fuzz.targets.provider_app`).

An input is a small HTTP request in text::

    POST /token
    Authorization: Basic @BASIC@

    grant_type=client_credentials&scope=signing%3Averify

A method other than GET is sent as POST; a path outside the endpoints above is taken as one of them. ``@NAME@``
is replaced with a live value, so that mutated requests still reach past client authentication: ``@CLIENT_ID@``,
``@SECRET@``, ``@BASIC@`` (the confidential client), ``@PUBLIC_ID@``, ``@JWT_CLIENT_ID@``, ``@ASSERTION@`` (a fresh
client assertion), ``@DPOP@`` (a fresh proof for this request), ``@REQUEST_URI@`` (a fresh pushed request) and
``@ACCESS_TOKEN@`` (a fresh access token). Every answer must be a clear one: a 5xx is a crash (a 503 with
``Retry-After`` excepted), and so is any exception that escapes the app.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.fuzz.targets import Harness, seed_meta

INSTRUMENT = ("idp", "authlib", "joserfc")
TIMEOUT_SECONDS = 5
ENDPOINTS = ("/authorize", "/par", "/token", "/introspect", "/revoke", "/userinfo")
_HEADER = re.compile(r"^([A-Za-z0-9-]{1,64}):[ \t]*(.*)$")


def make_harness(workdir: Path) -> Harness:
    from tests.fuzz.targets.provider_app import ProviderApp, build_provider, check_answer

    live: ProviderApp = build_provider(workdir / "provider", seed_meta()["client_jwks"])
    live.app.config["PROPAGATE_EXCEPTIONS"] = True  # an exception escaping a view is the crash, with its trace

    def fresh_request_uri() -> str:
        form = {"response_type": "code", "redirect_uri": "https://rp.example/cb", "scope": "openid"}
        form |= {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
        answer = live.client.post("/par", data=form, headers={"Authorization": f"Basic {live.basic}"})
        return str(answer.get_json()["request_uri"])

    def fresh_access_token() -> str:
        form = {"grant_type": "client_credentials", "scope": "signing:verify"}
        answer = live.client.post("/token", data=form, headers={"Authorization": f"Basic {live.basic}"})
        return str(answer.get_json()["access_token"])

    def fill(text: str, method: str, path: str) -> str:
        values = {
            "@CLIENT_ID@": lambda: live.client_id,
            "@SECRET@": lambda: quote(live.secret),
            "@BASIC@": lambda: live.basic,
            "@PUBLIC_ID@": lambda: live.public_id,
            "@JWT_CLIENT_ID@": lambda: live.jwt_client_id,
            "@ASSERTION@": live.assertion,
            "@REQUEST_URI@": lambda: quote(fresh_request_uri(), safe=""),
            "@ACCESS_TOKEN@": fresh_access_token,
        }
        for name, value in values.items():
            if name in text:
                text = text.replace(name, value())
        if "@DPOP@" in text:
            token = re.search(r"Authorization: DPoP ([!-~]+)", text)  # the proof hashes an ASCII token only
            text = text.replace("@DPOP@", live.dpop_proof(method, path, token.group(1) if token else None))
        return text

    def send(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        request_line, _newline, text = text.partition("\n")
        method, _space, target = request_line.strip().partition(" ")
        method = "GET" if method.upper() == "GET" else "POST"
        path, _mark, query = target.strip().partition("?")
        if path not in ENDPOINTS:
            path = ENDPOINTS[len(path) % len(ENDPOINTS)]
        text = fill(text, method, path)
        query = fill(query, method, path)
        head, _blank, body = ("\n" + text).partition("\n\n")  # no headers: the blank line comes first
        body = body.removesuffix("\n")  # the seed files end with a line break; the request bodies do not
        headers: list[tuple[str, Any]] = []
        for line in head.split("\n"):
            match = _HEADER.match(line.strip("\r"))
            if match:
                # what a WSGI server hands the app: the header's bytes as latin-1, never a CR or NUL (refused)
                value = re.sub(r"[\r\x00]", "", match.group(2))
                headers.append((match.group(1), value.encode("utf-8").decode("latin-1")))
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        response = live.client.open(
            path,
            method=method,
            query_string=query,
            headers=headers,
            data=body.encode("utf-8") if method == "POST" else None,
            content_type=content_type or ("application/x-www-form-urlencoded" if method == "POST" else None),
        )
        check_answer(response.status_code, response.headers, f"{method} {path}")

    return send
