"""The field app locks itself after the configured idle time (here 3 s instead of 15 min)."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.e2e.test_field_app import PIN, field, open_phone, record_contact, sign_in, tab, unlock

pytestmark = pytest.mark.e2e
__all__ = ["field"]  # the fixture, used below


@pytest.fixture
def settings(db_url):
    return make_settings(db_url, app_lock_minutes=0.05)


def test_an_idle_app_locks_and_forgets_what_it_showed(browser, field):
    context = open_phone(browser)
    page = context.new_page()
    sign_in(page, field["url"])
    record_contact(page, "before the lock")
    tab(page, "outbox")
    page.wait_for_selector("#screen-unlock:not([hidden])", timeout=15_000)
    assert page.locator("#outbox-list li").count() == 0  # nothing left on the screen
    assert page.locator("#sheet-list li").count() == 0
    unlock(page, PIN)
    page.wait_for_selector("#screen-sheet:not([hidden])")
    assert page.locator("#sheet-list li").count() == 2
    context.close()
