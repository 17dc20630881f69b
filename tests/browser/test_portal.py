"""The portal in headless Chromium: sign-in, user management, roles, registration, forgotten
password, the phone layout. Every step goes through the pages a person would use; mail is read
from the demo outbox (/outbox), as a person trying the demo would."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import (
    INSTALLER_ADMIN,
    INSTALLER_ORG,
    OM_ENGINEER,
    OWNER,
    PASSWORD,
    DemoServer,
)
from tests.browser.conftest import sign_in
from tests.browser.mail import outbox_mails
from voltfleet.app.users.service import new_user
from voltfleet.store.models import Org

pytestmark = pytest.mark.browser


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


def read_mail(page: Any, to: str, subject: str) -> str:
    """The body of the newest mail to ``to`` whose subject contains ``subject``, from /outbox
    (read by the platform superuser: nobody else may)."""
    return outbox_mails(page, to, subject)


def mailed_code(page: Any, to: str, subject: str) -> str:
    match = re.search(r"Your code is (\d{6})", read_mail(page, to, subject))
    assert match, f"no code in the mail '{subject}' to {to}"
    return match.group(1)


def user_row(page: Any, email: str) -> Any:
    return page.locator(f"#users tbody tr[data-email='{email}']")


# --- signing in ---------------------------------------------------------------------------------


def test_installer_admin_signs_in_and_sees_home(page: Any) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, INSTALLER_ADMIN)

    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("h1")).to_have_text("Home")
    expect(page.locator("#who")).to_have_text("Ingo Installer")
    expect(page.locator("header .who")).to_contain_text(f"{INSTALLER_ORG} · Administrator")
    # The installer's own organisation holds four of the five demo homes (the fifth belongs to
    # another installer), and the users tile counts what the Users page lists.
    expect(page.locator("#count-sites")).to_have_text("4")
    expect(page.locator("#count-orgs")).to_have_text("1")
    users_on_home = int(page.locator("#count-users").inner_text())
    assert users_on_home >= 3  # the seeded admin, O&M engineer and owner, plus tests' users
    for label in ("Home", "Site", "Account", "Upgrade", "Maintenance"):
        expect(page.locator("nav.main").get_by_role("link", name=label)).to_be_visible()
    page.locator("nav.main").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"/account/users$"))
    expect(page.locator("main p.muted").first).to_have_text(
        re.compile(rf"^{users_on_home} users · page 1")
    )


def test_wrong_password_shows_an_error(page: Any) -> None:
    sign_in(page, INSTALLER_ADMIN, "Wrong#2026")

    expect(page.locator("#error")).to_have_text("wrong email or password")
    expect(page.locator("#who")).to_have_count(0)
    expect(page.locator("input[name=email]")).to_have_value(INSTALLER_ADMIN)
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/login\?next=/home$"))


def test_sign_out_ends_the_session(installer_page: Any) -> None:
    installer_page.goto("/home")
    expect(installer_page.locator("#who")).to_be_visible()
    installer_page.click("#logout")
    expect(installer_page).to_have_url(re.compile(r"/login$"))
    installer_page.goto("/account/users")
    expect(installer_page).to_have_url(re.compile(r"/login\?next=/account/users$"))


# --- managing a user ----------------------------------------------------------------------------


def test_manage_a_user(installer_page: Any, new_context: Callable[..., Any]) -> None:
    page = installer_page
    email = unique_email("pat")
    page.goto("/account/users")
    expect(page.locator("h1")).to_have_text("Users")

    # Create.
    form = page.locator("#add-user")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=username]").fill("Pat Newcomer")
    form.locator("input[name=password]").fill("First#Pass1")
    form.locator("select[name=role]").select_option("owner")
    form.locator("select[name=org_id]").select_option(label=INSTALLER_ORG)
    form.locator("input[name=country]").fill("de")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("#notice")).to_have_text(f"User {email} created.")
    expect(page.locator("#error")).to_have_count(0)

    # Find it by search: exactly one row, and it is the new user.
    page.fill("form.filters input[name=q]", email)
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    rows = page.locator("#users tbody tr")
    expect(rows).to_have_count(1)
    row = user_row(page, email)
    expect(row).to_contain_text("Pat Newcomer")
    expect(row).to_contain_text("DE")
    expect(row.locator("select[name=role]")).to_have_value("owner")

    # Change its role.
    row.locator("select[name=role]").select_option("om")
    row.locator("form.role-form button").click()
    expect(page.locator("#notice")).to_have_text(f"{email} is now O&M engineer.")
    expect(user_row(page, email).locator("select[name=role]")).to_have_value("om")
    page.goto("/account/users?role=om")
    expect(user_row(page, email)).to_have_count(1)
    page.goto("/account/users?role=owner")
    expect(user_row(page, email)).to_have_count(0)

    # Reset its password; the temporary password arrives in the outbox.
    page.goto("/account/users")
    user_row(page, email).get_by_role("button", name="Reset password").click()
    page.locator("#confirm-reset").click()  # the confirmation step
    expect(page.locator("#notice")).to_have_text("A temporary password was mailed to the user.")
    body = read_mail(page, email, "Your voltfleet password was reset")
    match = re.search(r"Your temporary password is: (\S+)", body)
    assert match, body
    temporary = match.group(1)
    assert temporary != "First#Pass1"

    # The old password no longer works; the temporary one does, in a fresh browser context, but
    # only to choose a new password: every page leads there until then.
    fresh = new_context().new_page()
    sign_in(fresh, email, "First#Pass1")
    expect(fresh.locator("#error")).to_have_text("wrong email or password")
    sign_in(fresh, email, temporary)
    expect(fresh).to_have_url(re.compile(r"/account/password$"))
    fresh.goto("/home")
    expect(fresh).to_have_url(re.compile(r"/account/password$"))
    form = fresh.locator("#change-password-form")
    form.locator("input[name=current_password]").fill(temporary)
    form.locator("input[name=new_password]").fill("Second#Pass2")
    form.get_by_role("button", name="Change password").click()
    expect(fresh).to_have_url(re.compile(r"/home$"))
    expect(fresh.locator("#who")).to_have_text("Pat Newcomer")
    expect(fresh.locator("header .who")).to_contain_text(f"{INSTALLER_ORG} · O&M engineer")

    # Delete it; the confirmation dialog names the user.
    page.goto(f"/account/users?q={email}")
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    user_row(page, email).get_by_role("button", name="Delete").click()
    expect(page.locator("#notice")).to_have_text("User deleted.")
    assert dialogs == [f"Delete {email}?"]
    page.goto(f"/account/users?q={email}")
    expect(page.locator("#users tbody tr")).to_have_count(0)

    # Its session is gone with it.
    fresh.goto("/home")
    expect(fresh).to_have_url(re.compile(r"/login"))


def test_dismissing_the_delete_dialog_keeps_the_user(installer_page: Any) -> None:
    page = installer_page
    page.goto(f"/account/users?q={OM_ENGINEER}")
    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    user_row(page, OM_ENGINEER).get_by_role("button", name="Delete").click()
    assert dialogs == [f"Delete {OM_ENGINEER}?"]
    expect(page.locator("#notice")).to_have_count(0)
    page.goto(f"/account/users?q={OM_ENGINEER}")
    expect(user_row(page, OM_ENGINEER)).to_have_count(1)


def test_a_weak_password_is_refused_with_its_reason(installer_page: Any) -> None:
    page = installer_page
    email = unique_email("weak")
    page.goto("/account/users")
    form = page.locator("#add-user")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=username]").fill("Weak Password")
    form.locator("input[name=password]").fill("password")
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("#error")).to_contain_text("upper-case")
    page.goto(f"/account/users?q={email}")
    expect(page.locator("#users tbody tr")).to_have_count(0)


# --- what each role sees ------------------------------------------------------------------------


def test_om_engineer_adds_users_but_cannot_change_roles(page: Any) -> None:
    sign_in(page, OM_ENGINEER)
    expect(page).to_have_url(re.compile(r"/home$"))
    page.goto("/account/users")
    expect(page.locator("h1")).to_have_text("Users")
    expect(user_row(page, INSTALLER_ADMIN)).to_have_count(1)
    # The manual's role table: O&M engineers add users; only administrators change roles.
    expect(page.locator("#add-user")).to_have_count(1)
    expect(page.locator("form.role-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    # O&M engineers may reset other users' passwords.
    expect(user_row(page, OWNER).get_by_role("button", name="Reset password")).to_have_count(1)


def test_owner_cannot_reach_company_management(page: Any) -> None:
    sign_in(page, OWNER)
    expect(page).to_have_url(re.compile(r"/home$"))
    response = page.goto("/account/companies")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("#companies")).to_have_count(0)
    expect(page.locator("#add-company")).to_have_count(0)
    # Nor user management: it leads to the owner's own configuration.
    page.goto("/account/users")
    expect(page).to_have_url(re.compile(r"/account/profile$"))
    expect(page.locator("#users")).to_have_count(0)


# --- registration and forgotten password --------------------------------------------------------


def test_owner_registers_with_the_installers_access_code(
    installer_page: Any, new_context: Callable[..., Any]
) -> None:
    installer_page.goto("/account/companies")
    org_row = installer_page.locator("#companies tbody tr").filter(has_text=INSTALLER_ORG)
    expect(org_row).to_have_count(1)
    access_code = org_row.locator("code").inner_text().strip()
    assert access_code

    ctx = new_context()
    page = ctx.new_page()
    email = unique_email("newowner")
    page.goto("/register")
    page.select_option("select[name=account_type]", "owner")
    page.fill("input[name=access_code]", access_code)
    page.fill("#reg-email", email)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#code-notice")).to_have_text(f"A verification code was sent to {email}.")

    code = mailed_code(ctx.new_page(), email, "registration code")
    page.fill("input[name=code]", code)
    page.fill("input[name=username]", "Nora Newowner")
    page.fill("input[name=password]", "Sunny#Roof9")
    page.fill("input[name=password_confirm]", "Sunny#Roof9")
    page.select_option("select[name=country]", "DE")
    page.check("#accept-terms")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("#who")).to_have_text("Nora Newowner")
    # The owner lands under the installer whose access code it used.
    expect(page.locator("header .who")).to_contain_text(f"{INSTALLER_ORG} · Owner")

    # The installer now sees the new owner among its users.
    installer_page.goto(f"/account/users?q={email}")
    expect(user_row(installer_page, email)).to_contain_text("Nora Newowner")


def test_registration_with_a_wrong_code_is_refused(page: Any, installer_page: Any) -> None:
    installer_page.goto("/account/companies")
    org_row = installer_page.locator("#companies tbody tr").filter(has_text=INSTALLER_ORG)
    access_code = org_row.locator("code").inner_text().strip()
    email = unique_email("wrongcode")
    page.goto("/register")
    page.fill("input[name=access_code]", access_code)
    page.fill("#reg-email", email)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#code-notice")).to_contain_text("was sent")
    real = mailed_code(installer_page, email, "registration code")
    page.fill("input[name=code]", "000000" if real != "000000" else "111111")
    page.fill("input[name=username]", "Wrong Code")
    page.fill("input[name=password]", "Sunny#Roof9")
    page.fill("input[name=password_confirm]", "Sunny#Roof9")
    page.select_option("select[name=country]", "DE")
    page.check("#accept-terms")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#error")).to_contain_text("wrong code")
    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.locator("#reg-email")).to_have_value(email)


@pytest.fixture
def forgetful_user(live_server: DemoServer) -> str:
    """A user of the installer of its own, so that changing its password disturbs no other test."""
    email = unique_email("forgetful")
    runtime = live_server.runtime
    with runtime.db.session() as s:
        org = s.scalar(select(Org).where(Org.name == INSTALLER_ORG))
        assert org is not None
        new_user(
            s,
            runtime,
            email=email,
            username="Fritz Forgetful",
            password=PASSWORD,
            org_id=org.id,
            role="owner",
            country="DE",
        )
    return email


def test_forgotten_password_via_the_mailed_code(
    page: Any, new_context: Callable[..., Any], forgetful_user: str
) -> None:
    email = forgetful_user
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/forgot$"))
    page.fill("input[name=email]", email)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#notice")).to_have_text(
        f"If {email} has an account, a code was sent to it."
    )

    code = mailed_code(new_context().new_page(), email, "password reset code")
    page.fill("input[name=code]", code)
    page.fill("input[name=new_password]", "Fresh#Start7")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#notice")).to_have_text("Password changed: sign in with the new password.")

    sign_in(page, email, PASSWORD)
    expect(page.locator("#error")).to_have_text("wrong email or password")
    sign_in(page, email, "Fresh#Start7")
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("#who")).to_have_text("Fritz Forgetful")


# --- phone layout and screenshots ---------------------------------------------------------------


def test_phone_viewport_shows_the_menu_button(
    new_context: Callable[..., Any], installer_state: dict[str, Any], artifacts: Path
) -> None:
    ctx = new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        storage_state=installer_state,
    )
    page = ctx.new_page()
    page.goto("/home")
    menu = page.locator("label.menu-button")
    nav = page.locator("nav.main")
    expect(menu).to_be_visible()
    expect(nav).to_be_hidden()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    menu.tap()
    expect(nav).to_be_visible()
    expect(page.locator("header .who")).to_be_visible()
    page.screenshot(path=str(artifacts / "portal-phone-menu.png"))
    nav.get_by_role("link", name="Account").tap()
    expect(page).to_have_url(re.compile(r"/account/users$"))
    expect(page.locator("h1")).to_have_text("Users")
    expect(page.locator("nav.main")).to_be_hidden()


def test_phone_menu_opens_full_width_below_the_brand(
    new_context: Callable[..., Any], installer_state: dict[str, Any]
) -> None:
    ctx = new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        storage_state=installer_state,
    )
    page = ctx.new_page()
    page.goto("/home")
    button = page.locator("label.menu-button")
    closed = button.bounding_box()
    button.tap()
    brand = page.locator(".brand").bounding_box()
    nav = page.locator("nav.main").bounding_box()
    opened = button.bounding_box()
    assert closed and brand and nav and opened
    assert nav["y"] >= brand["y"] + brand["height"], (brand, nav)
    assert nav["width"] >= 0.9 * 390 - 32, nav
    assert abs(opened["x"] - closed["x"]) < 1, "the menu button jumps when the menu opens"


def test_desktop_viewport_hides_the_menu_button(installer_page: Any) -> None:
    installer_page.goto("/home")
    expect(installer_page.locator("label.menu-button")).to_be_hidden()
    expect(installer_page.locator("nav.main")).to_be_visible()


def test_screenshots_of_home_and_users(installer_page: Any, artifacts: Path) -> None:
    page = installer_page
    shots = {"home": "/home", "users": "/account/users"}
    for name, path in shots.items():
        page.goto(path)
        expect(page.locator("#who")).to_be_visible()
        target = artifacts / f"portal-{name}.png"
        target.unlink(missing_ok=True)
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
