"""Fixtures for the browser tests: the console served over real HTTP, headless Chromium driving it.

The server cannot see the rolled-back transaction of the suite's `database` fixture, so the browser tests
get a database of their own for the run (a second PostgreSQL database, or a SQLite file), migrated with
Alembic and loaded with the demo data that `make run` shows. Its rows are committed and never touch the
database the rest of the suite counts in. The app is served by werkzeug on 127.0.0.1 (a free port) in a
thread of the test process; jobs run inline (no Redis URL) and mail goes to an outbox directory.

A missing Chromium or chromedriver fails the tests (never a skip): run `make browser`, or deselect the
tests explicitly with `-m "not browser"`.

Every page a test reaches through `Page.open` or `Page.submit` is checked with axe-core (vendored under
`vendor/axe-core/`): a critical or serious violation fails the test, naming the rule and the elements.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import uuid
from pathlib import Path

import pytest

from console import ROOT, create_app
from console.extensions import db
from tests.conftest import fresh_database

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONSOLE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("CONSOLE_TEST_SCREENSHOTS", ROOT / "build" / "screenshots"))
WAIT_SECONDS = 10
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_FAILING_IMPACTS = ("critical", "serious")
PASSWORD = "browser-test-password-2026"
# The second factor new_staff provisions; Page.sign_in types the code it gives now.
TOTP_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLSONSWG4TF"
_serial = itertools.count(1)


@pytest.fixture(scope="session")
def browser_database_url(tmp_path_factory):
    """A database of the browser tests' own for this run, dropped at the end."""
    yield from fresh_database(tmp_path_factory, "browser")


@pytest.fixture(scope="session")
def browser_app(browser_database_url, tmp_path_factory):
    """The console on the browser tests' database: migrated, demo data, jobs inline, mail to a folder."""
    application = create_app(
        {
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": browser_database_url,
            "REDIS_URL": None,
            "MAIL_SERVER": None,
            "OUTBOX_DIR": str(tmp_path_factory.mktemp("browser-outbox")),
            "FILES_DIR": str(tmp_path_factory.mktemp("browser-files")),
            "REPORTS_DIR": str(tmp_path_factory.mktemp("browser-reports")),
            "SERVER_NAME": None,
        }
    )
    from flask_migrate import upgrade

    from console.seed import load

    with application.app_context():
        upgrade()
        load("demo", 1, echo=lambda *args, **kwargs: None)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(browser_app):
    """The base URL of the console served by werkzeug on 127.0.0.1 (a free port) in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, browser_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        # A browser test that does not run must not read as passing, in CI or on a desk.
        pytest.fail(
            f"browser tests need Chromium and chromedriver; missing: {', '.join(missing)}. "
            "Run `make browser` (installs Debian's chromium and chromium-driver as root), set "
            "CONSOLE_TEST_CHROMIUM / CONSOLE_TEST_CHROMEDRIVER, or deselect with -m \"not browser\".",
            pytrace=False,
        )


@pytest.fixture()
def downloads(tmp_path) -> Path:
    """The folder the browser saves downloads to, empty at the start of the test."""
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture()
def browser(live_server, downloads, request, browser_app):
    """A fresh headless Chromium (no cookies) for one test; a screenshot is saved if the test fails.

    After the test, the browser's console must hold no errors: a script refused by the
    Content-Security-Policy or a failing request shows up there.
    """
    _require_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--lang=ja-JP", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "intl.accept_languages": "ja-JP,ja",
    })
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)  # axe-core on a long list
    page = Page(driver, live_server, browser_app)
    for stale in SCREENSHOTS.glob(f"{_safe_name(request.node.name)}-*"):
        stale.unlink()  # evidence of an earlier run of this test would mislead
    try:
        yield page
        errors = page.console_errors()
        if errors:
            saved = page.save_evidence(f"{request.node.name}-console")
            pytest.fail(f"errors in the browser console: {errors}; page saved as {[str(p) for p in saved]}")
    finally:
        driver.quit()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: sees the report after xfail is applied
def pytest_runtest_makereport(item, call):
    """On a failure, save a screenshot and the page's HTML and name them in the report."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(page, Page) and report.when == "call":
        saved = page.save_evidence(f"{item.name}-{report.when}")
        if saved:
            report.sections.append(("browser screenshot", "\n".join(str(p) for p in saved)))
            print(f"\nbrowser screenshot: {saved[0]}")


@pytest.fixture()
def new_staff(browser_app):
    """new_staff("operator") → (email, password) of a committed staff member with that role, its second
    factor provisioned with TOTP_SECRET (enrolled=False: the member enrols at the first sign-in)."""
    from console.services.staff import create_staff

    def _create(*roles: str, enrolled: bool = True) -> tuple[str, str]:
        email = f"browser-{os.getpid()}-{next(_serial)}-{uuid.uuid4().hex[:6]}@example.jp"
        with browser_app.app_context():
            create_staff(None, email, f"ブラウザ試験 {'・'.join(roles)}", list(roles), PASSWORD,
                         totp_secret=TOTP_SECRET if enrolled else None)
            db.session.commit()
        return email, PASSWORD

    return _create


def fresh_browser_code(app, email: str, secret: str) -> str:
    """A code the console takes now for this member: the current one, the next one when the current one was
    used (a second sign-in within 30 seconds), and when both were (a third: a phone and this browser, say),
    the member's last code is set back a minute first, committed so the server sees it."""
    import pyotp
    from sqlalchemy import select

    from console import clock
    from console.models import Staff
    from console.normalise import email_key
    from tests import factories

    with app.app_context():
        staff = db.session.scalar(select(Staff).where(Staff.email == email_key(email)))
        now_step = pyotp.TOTP(secret).timecode(clock.now())
        last = staff.totp_last_step if staff is not None else None
        if last is not None and last > now_step:
            staff.totp_last_step = last = now_step - 2
            db.session.commit()
        return factories.totp_code(secret, step_offset=1 if last is not None and last >= now_step else 0)


class Page:
    """The driver plus the server's base URL and the few waits the tests need."""

    def __init__(self, driver, base_url: str, app=None):
        self.driver = driver
        self.base_url = base_url
        self.app = app

    def open(self, path: str) -> None:
        """Load a page of the console by its path, and check it with axe-core."""
        self.driver.get(self.base_url + path)
        self.check_accessibility()

    @property
    def path(self) -> str:
        """The current URL's path and query, without the server part."""
        url = self.driver.current_url
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    def wait(self, condition, message: str = "", timeout: float = WAIT_SECONDS, poll: float = 0.1):
        """Wait until condition(driver) is truthy and return it."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        # Mid-navigation, chromedriver answers with several kinds of error (stale element, node not in
        # the document, execution context destroyed): all mean "not yet".
        ignored = (WebDriverException,)
        return WebDriverWait(self.driver, timeout, poll_frequency=poll, ignored_exceptions=ignored).until(
            condition, message)

    def find(self, selector: str):
        """The visible element for a CSS selector, once it is there."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)),
                         f"no visible {selector}")

    def find_all(self, selector: str):
        """Every element matching a CSS selector on the page as it is now."""
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def button(self, label: str, within=None):
        """The visible button whose text is label."""
        return self._labelled("button", label, within)

    def link(self, label: str, within=None):
        """The visible link whose text is label."""
        return self._labelled("a", label, within)

    def _labelled(self, tag: str, label: str, within):
        from selenium.webdriver.common.by import By

        scope = within or self.driver
        xpath = f".//{tag}[normalize-space(.)={_xpath_literal(label)}]"

        def shown(_driver):
            return next((e for e in scope.find_elements(By.XPATH, xpath) if e.is_displayed()), None)

        return self.wait(shown, f"no visible <{tag}> {label!r}")

    def submit(self, element) -> None:
        """Click a submit button or link and wait until the next page has loaded."""
        # A mark on the old document's window: gone once the browser has moved to a new document.
        # (Waiting for the old <html> to go stale races with the navigation in chromedriver.)
        self.mark_page()
        element.click()
        self.wait_for_new_page()

    def wait_for_new_page(self) -> None:
        """After a click or a key that navigates: wait until the next page has loaded, and check it."""
        self.wait(lambda driver: driver.execute_script(
            "return window.__browserTestOldPage === undefined && document.readyState === 'complete';"),
            "the page did not change")
        self.check_accessibility()

    def mark_page(self) -> None:
        """Mark the current document, so that wait_for_new_page can tell when the browser has left it."""
        self.driver.execute_script("window.__browserTestOldPage = true;")

    def axe_violations(self) -> list[dict]:
        """axe-core's violations on the current page (every rule it runs by default: WCAG 2.x A/AA and
        its best practices), each with its impact, rule id, help text and the elements concerned."""
        if not self.driver.execute_script("return typeof window.axe === 'object';"):
            self.driver.execute_script(AXE_SCRIPT.read_text(encoding="utf-8"))
        outcome = self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(function (r) { done({violations: r.violations, version: axe.version}); })"
            ".catch(function (e) { done({error: String(e)}); });")
        if "error" in outcome:
            raise AssertionError(f"axe-core failed on {self.path}: {outcome['error']}")
        assert outcome["version"] == AXE_VERSION, outcome["version"]
        return outcome["violations"]

    def check_accessibility(self) -> None:
        """Fail the test when axe-core finds a critical or serious violation on the current page."""
        if not self.driver.execute_script("return document.contentType === 'text/html';"):
            return  # a feed, a JSON document or a file: nothing for a screen reader to navigate
        failing = [v for v in self.axe_violations() if v["impact"] in AXE_FAILING_IMPACTS]
        if failing:
            described = "\n".join(
                f"- {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}×: "
                + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5]) + ")"
                for v in failing)
            pytest.fail(f"axe-core: {len(failing)} critical/serious violation(s) on {self.path}:\n{described}",
                        pytrace=False)

    def unlabelled_fields(self) -> list[str]:
        """The visible form fields without a label (<label for>, a wrapping <label>, aria-label(ledby))."""
        return self.driver.execute_script("""
            var missing = [];
            document.querySelectorAll('input, select, textarea').forEach(function (field) {
              if (field.type === 'hidden' || field.type === 'submit' || field.type === 'button') return;
              if (!(field.offsetWidth || field.offsetHeight || field.getClientRects().length)) return;
              var named = (field.labels && Array.prototype.some.call(field.labels,
                             function (l) { return l.textContent.trim() !== ''; }))
                          || (field.getAttribute('aria-label') || '').trim() !== ''
                          || (field.getAttribute('aria-labelledby') || '').split(/\\s+/).some(function (id) {
                               var e = id && document.getElementById(id); return e && e.textContent.trim() !== ''; });
              if (!named) missing.push(field.outerHTML.slice(0, 160));
            });
            return missing;""")

    def body_text(self) -> str:
        """The visible text of the page."""
        return self.find("body").text

    def wait_for_text(self, text: str, selector: str = "body") -> str:
        """Wait until the element's visible text contains text, and return it."""
        from selenium.webdriver.common.by import By

        def seen(driver):
            content = driver.find_element(By.CSS_SELECTOR, selector).text
            return content if text in content else None

        return self.wait(seen, f"{text!r} never appeared in {selector} of {self.path}")

    def flashes(self) -> list[str]:
        """The texts of the flash messages on the page."""
        return [e.text for e in self.find_all(".alert")]

    def sign_in(self, email: str, password: str, secret: str = TOTP_SECRET) -> None:
        """Sign in through the real forms: e-mail and password at /login, then the code an authenticator
        app with `secret` shows now at /login/code."""
        import pyotp

        from console import clock

        if not self.path.startswith("/login"):
            self.open("/login")
        for name, value in (("email", email), ("password", password)):
            field = self.find(f"input[name={name}]")
            field.clear()
            field.send_keys(value)
        self.submit(self.button("ログイン"))
        code = pyotp.TOTP(secret).at(clock.now()) if self.app is None else fresh_browser_code(self.app, email, secret)
        self.find("input[name=code]").send_keys(code)
        self.submit(self.button("確認"))
        self.find("[data-testid=signed-in-as]")

    def sign_out(self) -> None:
        """Press ログアウト in the navigation bar."""
        self.submit(self.button("ログアウト"))
        self.wait_for_text("ログアウトしました。")

    def console_errors(self) -> list[str]:
        """The browser console's errors since the last call (CSP refusals, failed requests, script errors)."""
        entries = self.driver.get_log("browser")
        # The favicon is served too (issue 15): its 404 is an error like any other.
        return [e["message"] for e in entries if e["level"] == "SEVERE"]

    def save_evidence(self, name: str) -> list[Path]:
        """Save a screenshot and the HTML of the current page under SCREENSHOTS; return their paths."""
        safe = _safe_name(name)
        try:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            png, html = SCREENSHOTS / f"{safe}.png", SCREENSHOTS / f"{safe}.html"
            self.driver.save_screenshot(str(png))
            html.write_text(self.driver.page_source, encoding="utf-8")
        except Exception:  # noqa: BLE001 - a dead browser must not hide the test's own failure
            return []
        return [png, html]


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def _xpath_literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in value.split("'")) + ")"
