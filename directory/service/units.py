"""Party units: a hierarchy of any depth under ou=units, each unit named by its code."""

from __future__ import annotations

from collections.abc import Iterable

from directory.entries import UNIT_ATTRS, unit_from_entry
from directory.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from directory.ldap_client import Modification, escape_dn_value, explode_dn, filter_format, normalize_dn
from directory.models import Unit, UnitKind
from directory.service.base import DirectoryBase, plausible_login
from directory.validation import check_code, check_text

__all__ = ["UnitsMixin"]


class UnitsMixin(DirectoryBase):
    """Creating, reading, moving and deleting units."""

    def create_unit(
        self,
        code: str,
        name: str,
        kind: UnitKind | str,
        parent_code: str | None = None,
        description: str = "",
    ) -> Unit:
        code = check_code(code)
        name = check_text("name", name)
        try:
            kind = UnitKind(kind)
        except ValueError as err:
            raise InvalidInputError("kind", f"must be one of {', '.join(k.value for k in UnitKind)}") from err
        parent_dn = self.get_unit(parent_code).dn if parent_code else None
        if self._find_unit(code) is not None:
            raise AlreadyExistsError("unit", code)
        attrs = {
            "objectClass": ["antinUnit"],
            "antinUnitCode": [code],
            "ou": [name],
            "antinUnitKind": [kind.value],
        }
        if description:
            attrs["description"] = [check_text("description", description, max_length=1024)]
        dn = self.names.unit_dn(code, parent_dn)
        try:
            self.pool.run(lambda c: c.add(dn, attrs))
        except AlreadyExistsError as err:
            raise AlreadyExistsError("unit", code) from err
        return self.get_unit(code)

    def _find_unit(self, code: str) -> Unit | None:
        filterstr = filter_format("(&(objectClass=antinUnit)(antinUnitCode=%s))", code)
        found = self.pool.run(lambda c: c.search(self.names.units_dn, "sub", filterstr, UNIT_ATTRS))
        return unit_from_entry(found[0]) if found else None

    def get_unit(self, code: str | None) -> Unit:
        if code is None:
            raise InvalidInputError("unit", "must not be empty")
        code = check_code(code, "unit")
        unit = self._find_unit(code)
        if unit is None:
            raise NotFoundError("unit", code)
        return unit

    def list_units(self, parent_code: str | None = None) -> list[Unit]:
        """Every unit (under ``parent_code``), parents before children."""
        base = self.get_unit(parent_code).dn if parent_code else self.names.units_dn
        units: list[Unit] = []
        with self.pool.pinned() as conn:
            cookie = b""
            while True:
                entries, cookie = conn.search_page(
                    base, "sub", "(objectClass=antinUnit)", UNIT_ATTRS, self.config.page_size, cookie
                )
                units += [unit_from_entry(e) for e in entries if normalize_dn(e.dn) != normalize_dn(base)]
                if not cookie:
                    break
        return sorted(units, key=lambda u: _dn_sort_key(u.dn))

    def units_by_code(self, codes: Iterable[str]) -> list[Unit]:
        """The units with these codes that exist, in one search per 200 codes (not every unit, as list_units)."""
        wanted = {c.lower() for c in codes if plausible_login(c)}
        return self.pool.run(lambda c: self._units_by_code(c, wanted)) if wanted else []

    def unit_path(self, code: str) -> list[Unit]:
        """The unit and its parents up to the root."""
        unit = self.get_unit(code)
        codes = {c.lower() for c in [unit.code, *self.names.unit_codes_above(unit.dn)]}
        found = {u.code.lower(): u for u in self.pool.run(lambda c: self._units_by_code(c, codes))}
        return [found[c.lower()] for c in [unit.code, *self.names.unit_codes_above(unit.dn)] if c.lower() in found]

    def modify_unit(self, code: str, *, name: str | None = None, description: str | None = None) -> Unit:
        """Rename a unit (its ``ou``) or change its description ("" removes it); its code, the RDN, stays."""
        unit = self.get_unit(code)
        mods: list[Modification] = []
        if name is not None and check_text("name", name) != unit.name:
            mods.append(Modification("replace", "ou", [check_text("name", name)]))
        if description is not None and description != unit.description:
            if description == "":
                mods.append(Modification("delete", "description"))
            else:
                mods.append(
                    Modification("replace", "description", [check_text("description", description, max_length=1024)])
                )
        if mods:
            self.pool.run(lambda c: c.modify(unit.dn, mods))
        return self.get_unit(unit.code)

    def move_unit(self, code: str, new_parent_code: str | None) -> Unit:
        """Move a unit with everything under it (officials keep their entryUUID, groups follow)."""
        unit = self.get_unit(code)
        target = self.get_unit(new_parent_code).dn if new_parent_code else self.names.units_dn
        if normalize_dn(target) == normalize_dn(unit.dn) or normalize_dn(target).endswith("," + normalize_dn(unit.dn)):
            raise InvalidInputError("parent", "a unit cannot move under itself")
        rdn = f"antinUnitCode={escape_dn_value(unit.code)}"
        self.pool.run(lambda c: c.rename(unit.dn, rdn, target))
        return self.get_unit(unit.code)

    def delete_unit(self, code: str) -> None:
        """Delete a unit that holds no sub-unit and no official."""
        unit = self.get_unit(code)
        children = self.pool.run(lambda c: c.search(unit.dn, "one", "(objectClass=*)", ["1.1"], size_limit=0))
        if children:
            raise InvalidInputError("unit", f"{unit.code} is not empty ({len(children)} entries under it)")
        self.pool.run(lambda c: c.delete(unit.dn))


def _dn_sort_key(dn: str) -> tuple[str, ...]:
    return tuple(reversed([v.lower() for _, v in explode_dn(dn)]))
