"""What ``/ServiceProviderConfig``, ``/Schemas`` and ``/ResourceTypes`` publish (RFC 7643 §5–7).

The schemas list only the attributes this server keeps, each with the mutability it really has (``userName`` and a
group's ``displayName`` are immutable: they name the directory entry), so a client that reads them — as
scim2-tester does — expects no more than it gets.
"""

from __future__ import annotations

from typing import Any

from admin.scim.filters import ENTERPRISE
from admin.scim.groups import GROUP
from admin.scim.users import USER

__all__ = ["SCHEMA_SCHEMA", "resource_types", "schemas", "service_provider_config"]

SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
DOCS = "https://github.com/antin/antin/blob/main/docs/admin.md#scim-20"


def _attr(
    name: str,
    description: str,
    *,
    type_: str = "string",
    multi: bool = False,
    required: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    case_exact: bool = False,
    sub: list[dict[str, Any]] | None = None,
    reference_types: list[str] | None = None,
    canonical: list[str] | None = None,
) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if type_ in ("string", "reference"):
        attr["caseExact"] = case_exact
    if sub is not None:
        attr["subAttributes"] = sub
    if reference_types is not None:
        attr["referenceTypes"] = reference_types
    if canonical is not None:
        attr["canonicalValues"] = canonical
    return attr


def _work_values(what: str) -> list[dict[str, Any]]:
    return [
        _attr("value", f"The {what}."),
        _attr("type", "Always work: the directory keeps one.", canonical=["work"]),
    ]


def _meta(kind: str, schema_id: str, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "location": f"{base_url}/{'Schemas' if kind == 'Schema' else 'ResourceTypes'}/{schema_id}",
    }


def schemas(base_url: str, departments: list[str] | None = None) -> list[dict[str, Any]]:
    """The schemas; ``departments``: the unit codes the asking client may place officials in (its canonical
    values of ``department``), left out when there are too many to list."""
    user = [
        _attr(
            "userName",
            "The login (uid); it names the entry, so it cannot change.",
            required=True,
            mutability="immutable",
            uniqueness="server",
        ),
        _attr(
            "name",
            "The full name, Vietnamese order (family name first).",
            type_="complex",
            required=True,
            sub=[
                _attr("formatted", "The full name."),
                _attr("familyName", "The family name (họ)."),
                _attr("givenName", "The given name (tên)."),
            ],
        ),
        _attr("displayName", "The full name as shown.", required=True),
        _attr("title", "The position (chức vụ)."),
        _attr(
            "active",
            "False: suspended (sessions ended, tokens and certificates revoked).",
            type_="boolean",
            required=True,
        ),
        _attr("password", "Set only; never returned.", mutability="writeOnly", returned="never"),
        _attr("emails", "The work e-mail.", type_="complex", multi=True, sub=_work_values("e-mail address")),
        _attr("phoneNumbers", "The work phone.", type_="complex", multi=True, sub=_work_values("phone number")),
        _attr(
            "groups",
            "The groups the user is in, nested ones resolved.",
            type_="complex",
            multi=True,
            mutability="readOnly",
            sub=[
                _attr("value", "The group's id.", mutability="readOnly"),
                _attr("$ref", "The group's URI.", type_="reference", reference_types=["Group"], mutability="readOnly"),
                _attr("display", "The group's name.", mutability="readOnly"),
            ],
        ),
    ]
    enterprise = [
        _attr("employeeNumber", "The employee number (mã cán bộ)."),
        _attr(
            "department",
            "The code of the unit (đơn vị) the official belongs to; setting it moves them.",
            canonical=departments or None,
            required=True,
        ),
    ]
    group = [
        _attr(
            "displayName",
            "The group's name (cn): 1-64 of a-z, 0-9, '.', '_', '-'; it cannot change.",
            required=True,
            mutability="immutable",
            uniqueness="server",
        ),
        _attr(
            "members",
            "Users and groups (type Group: nested) of the client's units.",
            type_="complex",
            multi=True,
            sub=[
                _attr("value", "The member's id.", mutability="immutable"),
                _attr(
                    "$ref",
                    "The member's URI.",
                    type_="reference",
                    reference_types=["User", "Group"],
                    mutability="immutable",
                ),
                _attr("display", "The member's name.", mutability="readOnly"),
                _attr("type", "User or Group.", mutability="immutable", canonical=["User", "Group"]),
            ],
        ),
    ]
    documents = [
        (USER, "User", "An official", user),
        (ENTERPRISE, "EnterpriseUser", "Enterprise extension", enterprise),
        (GROUP, "Group", "A group or role", group),
    ]
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": sid,
            "name": name,
            "description": description,
            "attributes": attrs,
            "meta": _meta("Schema", sid, base_url),
        }
        for sid, name, description, attrs in documents
    ]


def resource_types(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Officials",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": True}],
            "meta": _meta("ResourceType", "User", base_url),
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Groups and roles",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": _meta("ResourceType", "Group", base_url),
        },
    ]


def service_provider_config(base_url: str, max_results: int) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": DOCS,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": True},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An access token of the platform's OpenID provider, obtained by the client_credentials "
                "grant with the scope scim, by a client bound to a unit (antin admin grant --client ID --role "
                "provisioner --unit CODE). DELETE /Users/{id} retires the official: the account is disabled at once "
                "and kept (audit, signatures), and SCIM answers 404 for it from then on.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "documentationUri": DOCS,
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }
