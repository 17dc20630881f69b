"""Accounts and roles in headless Chromium (issue 19): an administrator adds a user whose
password the system generates and mails, and a person registers accepting the terms of use."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import INSTALLER_ORG
from tests.browser.conftest import sign_in
from tests.browser.mail import outbox_mails

pytestmark = pytest.mark.browser


def test_add_a_user_with_a_generated_password(
    installer_page: Any, new_context: Callable[..., Any]
) -> None:
    page = installer_page
    email = f"gen-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/account/users")
    form = page.locator("#add-user")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=username]").fill("Gina Generated")
    expect(form.locator("input[name=password_mode][value=generate]")).to_be_checked()
    form.locator("select[name=role]").select_option(label="O&M engineer")
    form.locator("select[name=supervisor_id]").select_option(index=1)
    form.locator("input[name=description]").fill("roof team north")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("#notice")).to_have_text(
        f"User {email} created: a temporary password was mailed to them."
    )
    row = page.locator(f"#users tbody tr[data-email='{email}']")
    expect(row.locator("td.company")).to_have_text(INSTALLER_ORG)

    body = outbox_mails(page, email, "Your voltfleet account")
    found = re.search(r"temporary password is: (\S+)", body)
    assert found, body
    fresh = new_context().new_page()
    sign_in(fresh, email, found.group(1))
    expect(fresh).to_have_url(re.compile(r"/account/password$"))
    form = fresh.locator("#change-password-form")
    form.locator("input[name=current_password]").fill(found.group(1))
    form.locator("input[name=new_password]").fill("Own#Pass42")
    form.get_by_role("button", name="Change password").click()
    expect(fresh).to_have_url(re.compile(r"/home$"))
    expect(fresh.locator("#who")).to_have_text("Gina Generated")


def test_register_with_the_terms_of_use(
    installer_page: Any, new_context: Callable[..., Any]
) -> None:
    installer_page.goto("/account/companies")
    row = installer_page.locator("#companies tbody tr").filter(has_text=INSTALLER_ORG)
    access_code = row.locator("code").inner_text().strip()

    page = new_context().new_page()
    email = f"terms-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/register")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Terms of Use").click()
    expect(opened.value.locator("h1")).to_have_text("Terms of use")
    opened.value.close()
    # An owner (a new company under the installer would change what other tests count).
    page.select_option("select[name=account_type]", "owner")
    page.fill("input[name=access_code]", access_code)
    page.fill("#reg-email", email)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#code-notice")).to_contain_text("was sent")
    code = re.search(r"Your code is (\d{6})", outbox_mails(page, email, "registration code"))
    assert code
    page.fill("input[name=code]", code.group(1))
    page.fill("input[name=username]", "Terry Terms")
    page.fill("input[name=password]", "Sunny#Roof9")
    page.fill("input[name=password_confirm]", "Sunny#Roof8")
    page.select_option("select[name=country]", label="Germany")
    # Without accepting the terms the form does not go.
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    assert page.locator("#accept-terms").evaluate("el => !el.validity.valid")
    page.check("#accept-terms")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#error")).to_have_text("the two passwords differ")
    # The refused form keeps what was typed but the code and the passwords.
    expect(page.locator("#reg-email")).to_have_value(email)
    page.fill("input[name=code]", code.group(1))
    page.fill("input[name=password]", "Sunny#Roof9")
    page.fill("input[name=password_confirm]", "Sunny#Roof9")
    page.check("#accept-terms")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("header .who")).to_contain_text(f"{INSTALLER_ORG} · Owner")
