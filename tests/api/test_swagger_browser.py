"""/swagger in a real headless browser: Debian's Chromium, driven by Selenium through chromedriver.

The page must render every operation of /openapi.json, load nothing from outside this machine, and
a "Try it out" of GET /prices must get a 200. CI installs the browser (.ci/run); a machine without
it skips this test with the reason, except under CI, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stack import Api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Flags that work in a container as root, with no network beyond loopback and nothing phoning home.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
)
WAIT_SECONDS = 90  # a bound for a slow, shared machine; the test does not measure time


def _browser_or_skip() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if not missing:
        return
    reason = f"no {', '.join(missing)}: apt-get install chromium chromium-driver (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # given, so Selenium Manager downloads nothing
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def test_swagger_renders_every_operation_from_local_files_and_tries_get_prices(api: Api, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    document = api.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    wait = WebDriverWait(browser, WAIT_SECONDS)

    browser.get(api.url + "/swagger")
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(operations))
    shown = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    assert shown == operations

    # Authorize takes make token's output (here the partner token the other tests use), as a reader pastes it.
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    jwt_scheme = wait.until(
        ec.visibility_of_element_located(
            (By.XPATH, "//div[contains(@class,'auth-container')][.//*[contains(., 'PartnerJwt')]]")
        )
    )
    jwt_scheme.find_element(By.CSS_SELECTOR, "input").send_keys(str(api.token))
    jwt_scheme.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".dialog-ux .close-modal").click()

    prices = browser.find_element(By.ID, "operations-prices-listPrices")
    prices.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#operations-prices-listPrices .try-out__btn"))).click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#operations-prices-listPrices .execute"))).click()
    status = wait.until(
        ec.visibility_of_element_located(
            (By.CSS_SELECTOR, "#operations-prices-listPrices .live-responses-table tr.response .response-col_status")
        )
    )
    assert status.text.strip().startswith("200")

    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(api.url + "/") for url in loaded), loaded


@pytest.mark.timeout(1500)  # a hang guard: about thirty operations clicked through a browser (536 s on a busy machine)
def test_every_operations_default_example_is_a_valid_request(api: Api, browser: Any) -> None:
    """Try it out, then Execute, on every operation as Swagger UI fills it in: no answer is invalid_input
    (a quote token from an example no longer buys, an example customer may not exist: those are fine)."""
    import json

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    document = api.get("/openapi.json").json()
    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(api.url + "/swagger")
    count = sum(len(item) for item in document["paths"].values())
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) >= count)
    answers = {}
    for block_id in [block.get_attribute("id") for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")]:
        block = f"#{block_id}"
        browser.find_element(By.CSS_SELECTOR, f"{block} .opblock-summary").click()
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"{block} .try-out__btn"))).click()
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"{block} .execute"))).click()
        status = wait.until(
            ec.visibility_of_element_located(
                (By.CSS_SELECTOR, f"{block} .live-responses-table tr.response .response-col_status")
            ),
            message=f"{block_id}: Execute gave no answer (a required value without an example?)",
        ).text.strip()
        body = browser.find_element(
            By.CSS_SELECTOR, f"{block} .live-responses-table tr.response .response-col_description pre"
        ).text
        answers[block_id] = (status, body)
    assert len(answers) == count
    for block_id, (status, body) in answers.items():
        assert status[:1] in "2345", (block_id, status, body)  # an answer, not "Failed to fetch"
        if status.startswith("422"):
            assert json.loads(body)["error"]["code"] != "invalid_input", (block_id, body)
