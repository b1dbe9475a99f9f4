"""What the console's pages show of machine values, in the page's language: an audit entry's details as labelled
fields (the API keeps the JSON), a certificate's subject with its attribute names translated (the API keeps
asn1crypto's English string), and the right an administrator lacks when a page refuses them.

Unknown detail keys and subject attributes are shown as they are (``key: value``): a new event needs no change
here to be readable, only to be translated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from antin.kernel.readable import local_time

__all__ = ["Field", "detail_fields", "lacking_right", "register_filters", "subject_fields"]

Field = tuple[str, str]  # (label, value) as the page shows them


def _detail_labels() -> dict[str, str]:
    return {
        "acr": _("level"),
        "administrator": _("administrator"),
        "after": _("after"),
        "before": _("before"),
        "certificates_revoked": _("certificates revoked"),
        "credential": _("credential"),
        "delivered": _("delivered"),
        "disabled": _("disabled"),
        "document": _("document"),
        "enabled": _("enabled"),
        "issuing_unit": _("issuing unit"),
        "known_browser": _("known browser"),
        "left": _("left"),
        "locked": _("locked"),
        "mode": _("mode"),
        "must_change": _("must change the password"),
        "public": _("public"),
        "removed": _("removed"),
        "reminder": _("reminder"),
        "seal": _("seal"),
        "serial_after": _("new serial"),
        "serial_before": _("previous serial"),
        "sessions_ended": _("sessions ended"),
        "source": _("source"),
        "trusted": _("trusted"),
        "unit_path": _("unit path"),
        "user_verified": _("user verified"),
        "via": _("via"),
        "amr": _("methods"),
        "bytes": _("size (bytes)"),
        "client_id": _("application"),
        "clients": _("applications"),
        "comment": _("comment"),
        "count": _("count"),
        "deadline": _("deadline"),
        "decision": _("decision"),
        "error": _("error"),
        "factor": _("factor"),
        "file": _("file"),
        "grant": _("grant number"),
        "grant_type": _("grant type"),
        "group": _("group"),
        "kind": _("kind"),
        "level": _("level"),
        "mail": _("e-mail"),
        "member": _("member"),
        "name": _("name"),
        "notice": _("notice"),
        "number": _("number"),
        "pages": _("pages"),
        "parent": _("parent unit"),
        "reason": _("reason"),
        "recipients": _("recipients"),
        "records_office": _("records office"),
        "reviewers": _("reviewers"),
        "role": _("role"),
        "scope": _("scope"),
        "scopes": _("scopes"),
        "serial": _("serial"),
        "sha256": _("SHA-256"),
        "sid": _("session"),
        "signer": _("signer"),
        "status": _("status"),
        "step": _("step"),
        "subject": _("subject"),
        "title": _("title"),
        "to": _("to"),
        "unit": _("unit"),
        "until": _("until"),
        "version": _("version"),
    }


def _value(value: Any) -> str:
    """A detail's value in words: lists joined, yes/no, times in Vietnam's time, nested maps as ``k: v``."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[:4].isdigit() and value[10:11] == "T":
        try:
            return local_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def detail_fields(
    details: Mapping[str, Any] | None, names: Mapping[str, Mapping[str, str]] | None = None
) -> list[Field]:
    """An audit entry's details as labelled fields, in the order they were recorded; a value that ``names`` words
    for its key (``{"role": {"auditor": "kiểm tra viên"}}``, the page's names of roles, levels, factors) by that."""
    labels, words = _detail_labels(), names or {}

    def shown(key: str, value: Any) -> str:
        named = words.get(key, {})
        return named[value] if isinstance(value, str) and value in named else _value(value)

    return [(labels.get(key, key), shown(key, value)) for key, value in (details or {}).items()]


# the attribute names asn1crypto's ``Name.human_friendly`` writes (signing stores and the API shows that string)
_SUBJECT_NAMES = (
    "Common Name",
    "Surname",
    "Given Name",
    "Serial Number",
    "Country",
    "Locality",
    "State/Province",
    "Street Address",
    "Organization",
    "Organizational Unit",
    "Organization Identifier",
    "Title",
    "Email Address",
    "User ID",
    "Pseudonym",
    "Domain Component",
)
_SUBJECT_FIELD = re.compile(
    r"(?:^|[,;] )(" + "|".join(re.escape(n) for n in sorted(_SUBJECT_NAMES, key=len, reverse=True)) + r"): "
)


def _subject_labels() -> dict[str, str]:
    return {
        "Common Name": _("Common name"),
        "Surname": _("Surname"),
        "Given Name": _("Given name"),
        "Serial Number": _("Serial number"),
        "Country": _("Country"),
        "Locality": _("Locality"),
        "State/Province": _("Province"),
        "Street Address": _("Address"),
        "Organization": _("Organisation"),
        "Organizational Unit": _("Organisational unit"),
        "Organization Identifier": _("Organisation identifier"),
        "Title": _("Job title"),  # not "Title": the portal's catalog has it for a document's (they are merged)
        "Email Address": _("E-mail"),
        "User ID": _("User ID"),
        "Pseudonym": _("Pseudonym"),
        "Domain Component": _("Domain component"),
    }


def subject_fields(subject: str | None) -> list[Field]:
    """``Common Name: Ấn Tín Root CA, Country: VN`` as [("Tên", "Ấn Tín Root CA"), ("Quốc gia", "VN")]; a string
    in another shape as one field with no label."""
    text = subject or ""
    found = list(_SUBJECT_FIELD.finditer(text))
    if not found or found[0].start() != 0:
        return [("", text)] if text else []
    labels = _subject_labels()
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [(labels[m.group(1)], text[m.end() : end]) for m, end in zip(found, ends, strict=True)]


def _action_names() -> dict[str, str]:
    return {
        "officials:read": _("read officials"),
        "officials:disable": _("disable and enable officials"),
        "officials:security": _("sign officials out and reset their second factors"),
        "officials:write": _("create and edit officials"),
        "units:read": _("read units"),
        "units:write": _("create and rename units"),
        "groups:read": _("read groups"),
        "groups:manage": _("manage groups"),
        "audit:read": _("read the audit log"),
        "certificates:read": _("read certificates"),
        "certificates:manage": _("issue and revoke certificates"),
        "pki:renew": _("renew the certification authority's certificates"),
        "clients:manage": _("manage applications"),
        "grants:manage": _("give and take away administrative roles"),
    }


def lacking_right(action: str) -> str:
    """The right a refusal names (``audit:read``, ``audit:read on *``, ``officials:write or units:write``) in
    words: "read the audit log on the whole platform"."""
    names = _action_names()
    what, _on, where = action.partition(" on ")
    either = " " + str(_("or")) + " "  # not in an f-string: pybabel would not find it there
    words = either.join(names.get(a.strip(), a.strip()) for a in what.split(" or "))
    if not where:
        return words
    return str(_("%(right)s on the whole platform", right=words)) if where == "*" else f"{words} ({where})"


def register_filters(app: Flask) -> None:
    app.add_template_filter(detail_fields, "detail_fields")
    app.add_template_filter(subject_fields, "subject_fields")
