"""The templates' ``_()`` finds the request's catalog once and keeps it while the request's language and catalog
stay the same (antin.kernel.i18n.request_translations): the pages say what they said, in the language chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g, render_template_string
from flask_babel import Domain, force_locale, refresh

from antin.app import create_app
from antin.kernel import i18n
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory

PAGE = "{{ _('Sign in') }} | {{ _('Search') }} | {{ _('Sign in') }} | {{ _('Search') }}"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    inst = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "WARNING"}))
    upgrade(inst.database)
    use_directory(inst, InMemoryDirectory())
    yield create_app(instance=inst)
    inst.close()


def test_a_page_finds_its_catalog_once_and_follows_a_change_of_language_or_catalog(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    original = Domain.get_translations

    def counted(self: Domain) -> object:
        lookups.append(self.domain[0])
        return original(self)

    monkeypatch.setattr(Domain, "get_translations", counted)
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        assert render_template_string(PAGE) == "Đăng nhập | Tìm | Đăng nhập | Tìm"  # the last catalog merged wins
        assert len(lookups) == 1  # four strings, one lookup
        with force_locale("en"):
            assert render_template_string(PAGE) == "Sign in | Search | Sign in | Search"
        assert render_template_string(PAGE) == "Đăng nhập | Tìm | Đăng nhập | Tìm"
        i18n.FEATURE_DOMAINS["admin"].as_default()  # the console's catalog: its own word wins
        assert render_template_string(PAGE) == "Đăng nhập | Tìm kiếm | Đăng nhập | Tìm kiếm"
        i18n.FEATURE_DOMAINS["portal"].as_default()
        assert render_template_string(PAGE) == "Đăng nhập | Tìm | Đăng nhập | Tìm"
        lookups.clear()
        refresh()  # a language chosen during the request (flask_babel.refresh) is followed too
        g.ui_locale = "en"
        assert render_template_string(PAGE) == "Sign in | Search | Sign in | Search"
        assert len(lookups) == 1
