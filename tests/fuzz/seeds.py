"""Make the seed corpus under ``tests/fuzz/corpus/``: ``python -m tests.fuzz.seeds`` (rewrites the generated seeds).

Seeds are what the tests use: PDFs signed the way the verifier's tests sign them (a throw-away PKI, B-B to B-LTA,
legacy PKCS#7, changes after signing, JavaScript, DSS data, a small Flate bomb) beside a few small real files of
the shared corpus; request parameter sets of the OIDC tests; CSV and LDIF files like the import tests'; and JWTs
of each type with DPoP proofs. ``meta.json`` holds what the harnesses need to take the seeds as genuine: the
PKI's root, the moment the seeds were made, and the public keys that signed the JWT seeds (no private key is kept).
Regression inputs (``crash-*``) are added by hand and never rewritten.
"""

# ruff: noqa: E501  (the seed requests read better unbroken)
from __future__ import annotations

import base64
import json
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

CORPUS = Path(__file__).parent / "corpus"
SHARED_PDFS = Path(__file__).parents[1] / "corpus" / "pdf-signatures" / "dss"
# small real files of the shared corpus (the big ones slow every run down and add little)
REAL_PDFS = ("siwa.pdf", "dss-2236_hide.pdf", "pdf-eof.pdf", "pdf-byterange-overlap.pdf", "dss-2236_replace.pdf")
ISSUER = "http://localhost"


def _write(target: str, name: str, data: bytes | str) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


def _clear(target: str) -> None:
    folder = CORPUS / target
    for path in folder.glob("seed-*") if folder.is_dir() else ():
        path.unlink()


# -- PDFs -----------------------------------------------------------------------------------------------------


def pdf_seeds(meta: dict[str, Any]) -> None:
    from tests.signing import bombs
    from tests.signing.signed_pdfs import (
        add_dss_crl,
        blank_pdf,
        change_page_content,
        make_pki,
        sign,
        sign_pkcs7_sha1,
        with_javascript,
    )

    _clear("pdf")
    with tempfile.TemporaryDirectory() as folder:
        pki = make_pki(Path(folder))
        blank = blank_pdf()
        signed_b = sign(pki, blank, level="B-B")
        made = {
            "blank": blank,
            "b-b": signed_b,
            "b-t": sign(pki, blank, level="B-T"),
            "b-lt": sign(pki, blank, level="B-LT"),
            "b-lta": sign(pki, blank, level="B-LTA"),
            "two-signatures": sign(pki, signed_b, field="ChuKy2", level="B-B"),
            "pkcs7-sha1": sign_pkcs7_sha1(pki, blank),
            "changed-after-signing": change_page_content(signed_b),
            "javascript-after-signing": with_javascript(signed_b),
            "dss-crl-added": add_dss_crl(signed_b, pki.crl()),
            "flate-bomb": bombs.crl_bomb_pdf(2, 64 * 1024),
        }
        meta["pdf_root"] = base64.b64encode(pki.root_der).decode()
    for name, data in made.items():
        _write("pdf", f"seed-{name}.pdf", data)
    for name in REAL_PDFS:
        shutil.copyfile(SHARED_PDFS / name, CORPUS / "pdf" / f"seed-real-{name}")


# -- OAuth requests -------------------------------------------------------------------------------------------

# One request a line group: "METHOD PATH", headers, a blank line, the form body. @NAME@ are filled by the harness
# with live values (see tests.fuzz.targets.oauth_params).
_S256 = "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
OAUTH_REQUESTS = {
    "authorize-get": f"GET /authorize?response_type=code&client_id=@CLIENT_ID@&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    f"&scope=openid+profile+email&state=xyz&nonce=n-0S6&{_S256}\n\n",
    "authorize-public": f"GET /authorize?response_type=code&client_id=@PUBLIC_ID@&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    f"&scope=openid+party&state=s1&{_S256}&prompt=login&max_age=0&acr_values=urn%3Aantin%3Aacr%3Amfa"
    "&ui_locales=vi+en&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%7D%7D%7D\n\n",
    "authorize-post": f"POST /authorize\n\nresponse_type=code&client_id=@CLIENT_ID@&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    f"&scope=openid&state=abc&{_S256}&resource=https%3A%2F%2Fapi.example%2F&dpop_jkt=0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\n",
    "authorize-par": "GET /authorize?client_id=@CLIENT_ID@&request_uri=@REQUEST_URI@\n\n",
    "authorize-bad-uri": f"GET /authorize?response_type=code&client_id=@CLIENT_ID@&redirect_uri=https%3A%2F%2Fevil.example%2F"
    f"&scope=openid&{_S256}&request=eyJhbGciOiJub25lIn0.e30.\n\n",
    "par-basic": f"POST /par\nAuthorization: Basic @BASIC@\n\nresponse_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    f"&scope=openid+profile&state=p1&nonce=n1&{_S256}\n",
    "par-dpop": f"POST /par\nAuthorization: Basic @BASIC@\nDPoP: @DPOP@\n\nresponse_type=code"
    f"&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&{_S256}\n",
    "par-assertion": "POST /par\n\nclient_id=@JWT_CLIENT_ID@&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
    f"client-assertion-type%3Ajwt-bearer&client_assertion=@ASSERTION@&response_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&{_S256}\n",
    "par-secret-post": "POST /par\n\nclient_id=@CLIENT_ID@&client_secret=@SECRET@&response_type=code&redirect_uri="
    f"https%3A%2F%2Frp.example%2Fcb&scope=openid&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax&{_S256}\n",
    "token-code": "POST /token\nAuthorization: Basic @BASIC@\n\ngrant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"
    "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\n",
    "token-refresh": "POST /token\nAuthorization: Basic @BASIC@\n\ngrant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"
    "&scope=openid\n",
    "token-client-credentials": "POST /token\nAuthorization: Basic @BASIC@\nDPoP: @DPOP@\n\n"
    "grant_type=client_credentials&scope=signing%3Averify&resource=https%3A%2F%2Fapi.example%2F\n",
    "token-assertion": "POST /token\n\ngrant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
    "client-assertion-type%3Ajwt-bearer&client_assertion=@ASSERTION@&scope=signing%3Averify\n",
    "token-public": "POST /token\n\ngrant_type=authorization_code&client_id=@PUBLIC_ID@&code=abc"
    "&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=x\n",
    "introspect": "POST /introspect\nAuthorization: Basic @BASIC@\n\ntoken=@ACCESS_TOKEN@&token_type_hint=access_token\n",
    "revoke": "POST /revoke\nAuthorization: Basic @BASIC@\n\ntoken=@ACCESS_TOKEN@&token_type_hint=refresh_token\n",
    "userinfo": "GET /userinfo\nAuthorization: Bearer @ACCESS_TOKEN@\n\n",
    "userinfo-dpop": "POST /userinfo\nAuthorization: DPoP @ACCESS_TOKEN@\nDPoP: @DPOP@\n\n",
}


def oauth_seeds(client_assertion: str, dpop_proof: str) -> None:
    _clear("oauth")
    for name, text in OAUTH_REQUESTS.items():
        _write("oauth", f"seed-{name}.txt", text)
    # literal JWTs too, so that the fuzzer mutates real tokens and not only the text around them
    _write(
        "oauth",
        "seed-token-literal-assertion.txt",
        "POST /token\n\ngrant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
        f"client-assertion-type%3Ajwt-bearer&client_assertion={client_assertion}\n",
    )
    _write(
        "oauth",
        "seed-token-literal-dpop.txt",
        f"POST /token\nAuthorization: Basic @BASIC@\nDPoP: {dpop_proof}\n\ngrant_type=client_credentials\n",
    )


# -- imports --------------------------------------------------------------------------------------------------

CSV_FILES = {
    "people": "uid,name,unit,mail,employee_number,position,phone,party_card,status\n"
    "an.nguyen,Nguyễn Văn An,VP,an.nguyen@antin.vn,NV-0001,Chánh Văn phòng,+84 912 345 678,012345,active\n"
    "binh.tran,Trần Thị Bình,TU,binh.tran@antin.vn,NV-0002,Chuyên viên,,,suspended\n"
    "moi.le,Lê Văn Mới,NEW,,,,,,retired\n",
    "passwords": "\ufeffUID,Name,Unit,Password\nhoa.pham,Phạm Thị Hoa,VP,Mật-khẩu-dài-2026\n"
    'quote.test,"Ngô, Văn ""Trích""",VP,short\n',
    "rejections": "uid,name,unit,mail,status\n,Không Có Uid,VP,,\nbad uid!,Tên,VP,,active\n"
    "an.nguyen,Nguyễn Văn An,VP,an.nguyen@antin.vn,unknown\nan.nguyen,Trùng Lặp,VP,,\nx,y,z,w,v,extra\n",
    "unknown-column": "uid,name,colour\na,b,c\n",
}


def ldif_files() -> dict[str, str]:
    from directory.ldap_client import write_ldif

    exported = write_ldif(
        [
            (
                "ou=VP,ou=TU,ou=units,dc=antin,dc=vn",
                {
                    "objectClass": ["organizationalUnit", "antinUnit"],
                    "ou": ["Văn phòng Tỉnh ủy"],
                    "antinUnitCode": ["VP"],
                    "antinUnitKind": ["department"],
                    "description": ["Cơ quan tham mưu"],
                },
            ),
            (
                "uid=an.nguyen,antinUnitCode=VP,ou=units,dc=antin,dc=vn",
                {
                    "objectClass": ["inetOrgPerson", "antinPerson"],
                    "uid": ["an.nguyen"],
                    "cn": ["Nguyễn Văn An"],
                    "sn": ["Nguyễn"],
                    "mail": ["an.nguyen@antin.vn"],
                    "employeeNumber": ["NV-0001"],
                    "antinPosition": ["Chánh Văn phòng"],
                    "antinStatus": ["active"],
                },
            ),
            (
                "cn=van-thu,ou=groups,dc=antin,dc=vn",
                {
                    "objectClass": ["groupOfNames", "antinGroup"],
                    "cn": ["van-thu"],
                    "antinGroupKind": ["role"],
                    "antinScopeUnitCode": ["VP"],
                    "member": [
                        "uid=an.nguyen,antinUnitCode=VP,ou=units,dc=antin,dc=vn",
                        "cn=can-bo,ou=groups,dc=antin,dc=vn",
                    ],
                },
            ),
        ]
    )
    return {
        "export": exported,
        "units": "version: 1\n\ndn: antinUnitCode=TU,ou=units,dc=antin,dc=vn\nobjectClass: organizationalUnit\n"
        "objectClass: antinUnit\nantinUnitCode: TU\nou:: VOG7iW5oIOG7p3kgQuG6r2MgTmluaA==\nantinUnitKind: "
        "provincial-committee\n\ndn: antinUnitCode=X1,antinUnitCode=TU,ou=units,dc=antin,dc=vn\n"
        "objectClass: antinUnit\nantinUnitCode: X1\nou: Xã Một\n antinUnitKind: commune\nantinUnitKind: nowhere\n",
        "rejections": "dn: uid=pw,ou=people,dc=antin,dc=vn\nobjectClass: inetOrgPerson\nuid: pw\ncn: Có Mật Khẩu\n"
        "userPassword: secret\n\ndn: cn=x\nobjectClass: device\ncn: x\n\ndn: not a dn\nobjectClass: antinUnit\n\n"
        "dn: cn=g,ou=groups,dc=antin,dc=vn\nobjectClass: groupOfNames\ncn: g\nmember: uid=nobody,dc=x\n"
        "member: ===\n\ndn: uid=ch,dc=x\nchangetype: modify\nreplace: cn\ncn: y\n-\n",
    }


def import_seeds() -> None:
    _clear("import")
    for name, text in CSV_FILES.items():
        _write("import", f"seed-{name}.csv", "csv\n" + text)
    for name, text in ldif_files().items():
        _write("import", f"seed-{name}.ldif", "ldif\n" + text)


# -- JWTs -----------------------------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt_seeds(meta: dict[str, Any]) -> tuple[str, str]:
    """Access tokens, ID, logout tokens, DPoP proofs and client assertions; returns an assertion and a proof."""
    now = int(time.time())
    idp_key = ECKey.generate_key("P-256", parameters={"kid": "idp-1"})
    client_key = ECKey.generate_key("P-256", parameters={"kid": "client-1"})
    holder = ECKey.generate_key("P-256")
    rsa_holder = RSAKey.generate_key(2048)
    ed_holder = OKPKey.generate_key("Ed25519")
    meta["time"] = now
    meta["idp_jwks"] = {"keys": [idp_key.as_dict(private=False)]}
    meta["client_jwks"] = {"keys": [client_key.as_dict(private=False)]}

    def access(claims: dict[str, Any]) -> str:
        base = {"iss": ISSUER, "aud": "https://api.example/", "sub": "u-1", "client_id": "app", "iat": now}
        base |= {"exp": now + 300, "jti": uuid.uuid4().hex, "scope": "openid signing:verify"}
        return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "idp-1"}, base | claims, idp_key)

    def proof(key: Any, alg: str, htm: str, htu: str, **extra: Any) -> str:
        header = {"alg": alg, "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}
        claims = {"htm": htm, "htu": htu, "jti": uuid.uuid4().hex, "iat": now} | extra
        return jwt.encode(header, claims, key, algorithms=[alg])

    bound = access({"cnf": {"jkt": holder.thumbprint()}})
    from idp.oidc.dpop import access_token_hash

    assertion = jwt.encode(
        {"alg": "ES256", "kid": "client-1"},
        {"iss": "jwt-app", "sub": "jwt-app", "aud": ISSUER + "/token", "jti": uuid.uuid4().hex, "exp": now + 300},
        client_key,
    )
    api = "https://api.example/api/signing/verify"
    tokens = {
        "access": access({}),
        "access-bound": bound + "\n" + proof(holder, "ES256", "POST", api, ath=access_token_hash(bound)),
        "access-scp": access({"scp": ["signing:verify"], "scope": None}),
        "dpop-es256": proof(holder, "ES256", "POST", ISSUER + "/token"),
        "dpop-rs256": proof(rsa_holder, "RS256", "POST", ISSUER + "/token", nonce="n"),
        "dpop-eddsa": proof(ed_holder, "EdDSA", "GET", ISSUER + "/userinfo?x=1#f"),
        "id-token": jwt.encode(
            {"alg": "ES256", "kid": "idp-1"},
            {"iss": ISSUER, "sub": "u-1", "aud": "app", "nonce": "n", "at_hash": "x", "azp": "app", "exp": now + 300},
            idp_key,
        ),
        "logout-token": jwt.encode(
            {"alg": "ES256", "typ": "logout+jwt", "kid": "idp-1"},
            {"iss": ISSUER, "aud": "app", "sid": "s", "jti": "j", "iat": now, "events": {BACKCHANNEL: {}}},
            idp_key,
        ),
        "client-assertion": assertion,
        "alg-none": _b64({"alg": "none", "typ": "dpop+jwt"}) + "." + _b64({"htm": "POST"}) + ".",
        "hmac": jwt.encode({"alg": "HS256", "typ": "at+jwt"}, {"sub": "x"}, _oct_key(), algorithms=["HS256"]),
    }
    _clear("jwt")
    for name, token in tokens.items():
        _write("jwt", f"seed-{name}.txt", token)
    return assertion, tokens["dpop-es256"]


BACKCHANNEL = "http://schemas.openid.net/event/backchannel-logout"


def _oct_key() -> Any:
    from joserfc.jwk import OctKey

    return OctKey.import_key("a-shared-secret-of-enough-length-000")


def main() -> None:
    meta: dict[str, Any] = {"made": datetime.now(UTC).isoformat(timespec="seconds")}
    assertion, proof = jwt_seeds(meta)
    oauth_seeds(assertion, proof)
    import_seeds()
    pdf_seeds(meta)
    (CORPUS / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"corpus: {sum(1 for p in CORPUS.rglob('*') if p.is_file())} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
