"""SCIM PATCH (RFC 7644 §3.5.2): ``add``, ``replace`` and ``remove`` operations applied to a resource's JSON.

The operations change a copy of the resource as the client sees it; the caller then writes the difference, as it
would for a PUT, so that PATCH and PUT share one path to the directory (and one set of checks).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from admin.scim.errors import ScimError
from admin.scim.filters import ENTERPRISE, AttrPath, Compare, Filter, Logical, matches, parse_filter, parse_path

__all__ = ["PATCH_OP", "apply_patch"]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000
_VALUE_PATH = re.compile(r"^(?P<attr>[^\[\]]+)\[(?P<filter>.+)\](?:\.(?P<sub>[A-Za-z][\w-]*))?$", re.DOTALL)


def apply_patch(resource: dict[str, Any], body: Any, multi_valued: frozenset[str]) -> dict[str, Any]:
    """The resource after the PatchOp ``body``; ``multi_valued`` names (lower case) its multi-valued attributes."""
    if not isinstance(body, Mapping) or PATCH_OP not in (body.get("schemas") or []):
        raise ScimError.invalid_value(f"a PATCH body is a {PATCH_OP} message")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations or len(operations) > MAX_OPERATIONS:
        raise ScimError.invalid_value(f"Operations must list 1 to {MAX_OPERATIONS} operations")
    result = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, Mapping):
            raise ScimError.invalid_value("each operation is an object")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError.invalid_value(f"op must be add, replace or remove, not {operation.get('op')!r}")
        path = operation.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError.invalid_path("path must be a string")
        _apply(result, op, path, operation.get("value"), multi_valued)
    return result


def _apply(resource: dict[str, Any], op: str, path: str | None, value: Any, multi_valued: frozenset[str]) -> None:
    if not path:
        if op == "remove":
            raise ScimError.no_target("remove needs a path")
        if not isinstance(value, Mapping):
            raise ScimError.invalid_value(f"{op} without a path takes an object of attributes")
        for key, item in value.items():
            if key.lower().startswith("urn:") and isinstance(item, Mapping) and ":" in key and key.count(":") >= 6:
                for sub_key, sub_item in item.items():  # an extension's attributes, each in turn
                    _apply(resource, op, f"{key}:{sub_key}", sub_item, multi_valued)
            else:
                _apply(resource, op, key, item, multi_valued)
        return
    if path.strip().lower() == ENTERPRISE.lower():  # the extension as a whole: each of its attributes in turn
        if op == "remove":
            present = next((k for k in resource if k.lower() == ENTERPRISE.lower()), None)
            if present is not None:
                del resource[present]
            return
        if not isinstance(value, Mapping):
            raise ScimError.invalid_value(f"{ENTERPRISE} takes an object of its attributes")
        for sub_key, sub_item in value.items():
            _apply(resource, op, f"{ENTERPRISE}:{sub_key}", sub_item, multi_valued)
        return
    match = _VALUE_PATH.match(path.strip())
    if match:
        _apply_filtered(resource, op, parse_path(match["attr"]), parse_filter(match["filter"]), match["sub"], value)
        return
    target = parse_path(path)
    holder = _holder(resource, target, create=op != "remove")
    if holder is None:
        return
    key = _key(holder, target.attr)
    if target.sub is not None:
        current = holder.get(key)
        if current is None and op == "remove":
            return
        if not isinstance(current, dict):
            current = holder[key] = {}
        _set(current, op, _key(current, target.sub), value, multi=False)
        if not current:
            holder.pop(key, None)
        return
    _set(holder, op, key, value, multi=target.attr in multi_valued)


def _set(holder: dict[str, Any], op: str, key: str, value: Any, *, multi: bool) -> None:
    if op == "remove":
        holder.pop(key, None)
        return
    if multi:
        items = value if isinstance(value, list) else [value]
        if op == "add":
            present = holder.get(key) or []
            holder[key] = present + [i for i in items if i not in present]
        else:
            holder[key] = items
        return
    if op == "add" and isinstance(value, Mapping) and isinstance(holder.get(key), dict):
        holder[key].update(value)  # add merges a complex attribute's sub-attributes
        return
    holder[key] = value


def _apply_filtered(
    resource: dict[str, Any], op: str, target: AttrPath, tree: Filter, sub: str | None, value: Any
) -> None:
    holder = _holder(resource, target, create=False) or {}
    key = _key(holder, target.attr)
    items = holder.get(key)
    listed: list[Any] = items if isinstance(items, list) else []
    chosen = [i for i in listed if isinstance(i, dict) and matches(i, tree)]
    if op == "remove":
        if not chosen:
            return  # removing what is not there leaves the resource as it is
        if sub is None:
            holder[key] = [i for i in listed if not any(i is c for c in chosen)]
        else:
            for item in chosen:
                item.pop(_key(item, sub.lower()), None)
        return
    if not chosen:
        # a filter matching nothing: RFC 7644 §3.5.2.3 answers noTarget; a replace of a sub-attribute of the value
        # the filter describes (emails[type eq "work"].value) creates that value, as provisioning clients expect
        if op == "replace" and sub is None:
            raise ScimError.no_target(f"no value of {target.attr} matches the filter")
        seed = _seed(tree)
        fresh: dict[str, Any] = {**seed, **({sub: value} if sub else dict(value) if isinstance(value, Mapping) else {})}
        holder = _holder(resource, target, create=True) or {}
        holder[key] = [*(holder.get(key) or []), fresh]
        return
    for item in chosen:
        if sub is not None:
            item[_key(item, sub.lower())] = value
        elif isinstance(value, Mapping):
            item.update(value)


def _seed(tree: Filter) -> dict[str, Any]:
    """The attributes an ``eq`` filter pins (``type eq "work"``), for a value created by a filtered path."""
    if isinstance(tree, Compare) and tree.op == "eq":
        return {tree.path.attr: tree.value}
    if isinstance(tree, Logical) and tree.op == "and":
        return {**_seed(tree.left), **_seed(tree.right)}
    return {}


def _holder(resource: dict[str, Any], path: AttrPath, *, create: bool) -> dict[str, Any] | None:
    if path.schema is None:
        return resource
    key = next((k for k in resource if k.lower() == path.schema), None)
    if key is None:
        if not create:
            return None
        key = (
            next(s for s in resource.get("schemas", []) if s.lower() == path.schema)
            if any(s.lower() == path.schema for s in resource.get("schemas", []))
            else path.schema
        )
        resource[key] = {}
    holder = resource[key]
    if not isinstance(holder, dict):
        raise ScimError.invalid_value(f"{key} must be an object")
    return holder


def _key(holder: Mapping[str, Any], name: str) -> str:
    """The key ``name`` already has in ``holder`` (names are case-insensitive), else ``name`` as given."""
    return next((k for k in holder if k.lower() == name.lower()), name)
