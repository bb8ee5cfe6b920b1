"""The coordinators' page, in a real browser: Debian's headless Chromium driven by selenium.

Pick a patient, see the ranked trials, open a trial's criteria, answer questions, record the
investigator's decisions and watch the ranking update; upload a FHIR bundle.  Screenshots of the main views
are saved (under the test's temporary folder, or $ELIGIMATCH_SCREENSHOTS) and their path is printed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the page is served by the service (the serve extra)")
pytest.importorskip("uvicorn", reason="the page is served by the service (the serve extra)")
webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

import eligimatch  # noqa: E402
from eligimatch.service import create_app  # noqa: E402

from test_service import Server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHROMIUM = os.environ.get("ELIGIMATCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ELIGIMATCH_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
PREFIX = "/eligimatch"


@pytest.fixture(scope="module")
def base():
    trials = [eligimatch.load_trial(p) for p in sorted((EXAMPLES / "trials").glob("*.elig"))]
    with Server(create_app(trials, prefix=PREFIX, patients_dir=EXAMPLES / "patients")) as url:
        yield url + PREFIX


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}): "
                    f"apt-get install chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="eligimatch-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory, request):
    folder = Path(os.environ["ELIGIMATCH_SCREENSHOTS"]) if os.environ.get("ELIGIMATCH_SCREENSHOTS") else \
        tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    saved = sorted(p.name for p in folder.glob("*.png"))
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else _nothing():
        print(f"\n[test_page] screenshots of the coordinators' page: {folder} ({', '.join(saved)})")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def wait(driver, condition, timeout=60, what="the page"):
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        error = driver.find_element(By.ID, "error").text
        raise AssertionError(f"timed out waiting for {what}; page error: {error!r}") from None


def screened(driver) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-screened") or 0)


def after_screening(driver, before: int, what: str) -> None:
    wait(driver, lambda d: screened(d) > before and not d.find_element(By.ID, "patient-status")
         .get_attribute("data-busy"), what=what)


def open_page(driver, base):
    driver.get(base + "/ui/")
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    driver.execute_script("document.getElementById('as-of').value = '2026-03-01';")


def pick(driver, name: str) -> None:
    before = screened(driver)
    Select(driver.find_element(By.ID, "example")).select_by_value(name)
    after_screening(driver, before, f"the screening of {name}")


def rows(driver):
    return [(r.get_attribute("data-trial"), r.get_attribute("data-tier"))
            for r in driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")]


def test_pick_a_patient_see_the_ranking_and_a_trials_criteria(browser, base, shots):
    open_page(browser, base)
    assert browser.title.startswith("eligimatch")
    pick(browser, "breast-cancer-screening")
    ranked = rows(browser)
    assert ranked[0] == ("NCT05621486", "possible")
    assert [t for _, t in ranked[1:3]] == ["unlikely", "unlikely"]
    assert "competing primary diagnosis" in browser.find_element(By.ID, "ranking").text
    questions = browser.find_elements(By.CSS_SELECTOR, "#questions > li")
    assert 0 < len(questions) <= 10
    browser.save_screenshot(str(shots / "1-ranking.png"))

    browser.find_element(By.CSS_SELECTOR, "#ranking tr[data-trial='NCT05621486']").click()
    wait(browser, lambda d: d.find_element(By.ID, "trial-panel").is_displayed())
    i5a = browser.find_element(By.CSS_SELECTOR, "#criteria tr[data-criterion='I5a']")
    assert "met" in i5a.text and "breast cancer" in i5a.text and "2023-09-12" in i5a.text
    assert "NCT05621486" in browser.find_element(By.ID, "trial-title").text
    browser.execute_script("document.getElementById('trial-panel').scrollIntoView();")
    browser.save_screenshot(str(shots / "2-trial-criteria.png"))


def test_answering_a_question_updates_the_ranking_and_the_record(browser, base, shots):
    open_page(browser, base)
    pick(browser, "breast-cancer-screening")
    q = browser.find_element(By.CSS_SELECTOR, "#questions li[data-question='pregnancy']")
    assert "pregnant or breastfeeding" in q.text
    for fact in ("pregnant", "breastfeeding"):
        before = screened(browser)
        browser.find_element(By.CSS_SELECTOR,
                             f"#questions li[data-question='pregnancy'] span[data-fact='{fact}'] "
                             f"button[data-answer='no']").click()
        after_screening(browser, before, f"the answer to {fact}")
    record = browser.find_element(By.ID, "record").text
    assert '"fact": "pregnant"' in record and '"fact": "breastfeeding"' in record
    # answered: the pregnancy question is gone from the plan
    assert not browser.find_elements(By.CSS_SELECTOR, "#questions li[data-question='pregnancy']")
    browser.find_element(By.CSS_SELECTOR, "#ranking tr[data-trial='NCT05621486']").click()
    e5 = browser.find_element(By.CSS_SELECTOR, "#criteria tr[data-criterion='E5']")
    assert "not excluded" in e5.text and "ScreeningRecord" in e5.text
    browser.execute_script("document.getElementById('record-panel').scrollIntoView();")
    browser.save_screenshot(str(shots / "3-answers.png"))


def test_recording_the_investigators_decisions_makes_the_trial_eligible(browser, base, shots):
    open_page(browser, base)
    pick(browser, "nct07301164-sle-match")
    assert rows(browser)[0] == ("NCT07301164", "eligible_pending_review")
    browser.find_element(By.CSS_SELECTOR, "#ranking tr[data-trial='NCT07301164']").click()
    wait(browser, lambda d: d.find_element(By.ID, "trial-panel").is_displayed())
    browser.save_screenshot(str(shots / "4-review.png"))
    for _ in range(20):
        controls = browser.find_elements(By.CSS_SELECTOR, "#criteria div[data-decide]")
        if not controls:
            break
        cid = controls[0].get_attribute("data-decide")
        note = controls[0].find_element(By.CSS_SELECTOR, "input[aria-label='note']")
        note.send_keys(f"{cid} reviewed at the visit")
        before = screened(browser)
        controls[0].find_element(By.CSS_SELECTOR, "button[data-met='true']").click()
        after_screening(browser, before, f"the decision on {cid}")
    assert not browser.find_elements(By.CSS_SELECTOR, "#criteria div[data-decide]")
    assert rows(browser)[0] == ("NCT07301164", "eligible")
    e15 = browser.find_element(By.CSS_SELECTOR, "#criteria tr[data-criterion='E15']")
    assert "decided by the investigator (investigator) on 2026-03-01: met; note: E15 reviewed at the visit" in e15.text
    assert '"criterion": "E15"' in browser.find_element(By.ID, "record").text
    browser.execute_script("window.scrollTo(0, 0);")
    browser.save_screenshot(str(shots / "5-decided.png"))


def test_upload_a_fhir_bundle(browser, base, shots):
    open_page(browser, base)
    before = screened(browser)
    browser.find_element(By.ID, "upload").send_keys(str(EXAMPLES / "fhir" / "breast-cancer-screening.json"))
    after_screening(browser, before, "the screening of the uploaded bundle")
    status = browser.find_element(By.ID, "patient-status").text
    assert re.search(r"FHIR: [1-9]\d* records mapped, \d+ not mapped, \d+ rejected", status), status
    assert rows(browser)[0][0] == "NCT05621486"
    bad = Path(tempfile.mkdtemp()) / "bad.json"
    bad.write_text('{"id": 5}')
    before = screened(browser)
    browser.find_element(By.ID, "upload").send_keys(str(bad))
    after_screening(browser, before, "the refusal of an invalid patient")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and "id" in error.text and "invalid patient data" in error.text
    browser.save_screenshot(str(shots / "6-upload-error.png"))
