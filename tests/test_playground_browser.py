"""The playground in a real headless Chromium: change the network, play, one step, the
shared address, the model download. Screenshots go to tests/artifacts/ (git-ignored).

Needs Selenium (the test extra) and Debian's ``chromium`` and ``chromium-driver``;
without them these tests skip with the reason, except in CI (``CI=true``), where
tests/conftest.py turns the skip into a failure.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import mytorch
from mytorch.playground import BackgroundServer

pytestmark = pytest.mark.browser

# Imported here but skipped in the fixtures (not at collection), so that in CI a
# missing package is a failing test and not a silently skipped module.
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = By = WebDriverWait = None
try:
    import uvicorn
except ImportError:
    uvicorn = None

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,1250",
]


def _executables() -> tuple[str, str]:
    if webdriver is None:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("Chromium not found: apt-get install chromium chromium-driver")
    return browser, driver


@pytest.fixture(scope="module")
def downloads():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def browser(downloads):
    binary, driver_path = _executables()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="mytorch-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    if uvicorn is None:
        pytest.skip("the playground extra (uvicorn) is not installed")
    with BackgroundServer() as running:
        yield running


def _wait(driver, condition, timeout=20.0, what="the page"):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: condition(d), message=f"timed out waiting for {what}"
    )


def _text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def _open(driver, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: _text(d, "status").startswith("Ready"), what="the run to be ready")


def _canvas(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').toDataURL()")


def _screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def test_change_the_network_play_and_watch_the_loss_fall(browser, server):
    _open(browser, server.url + "?dataset=circles&hidden=3&speed=400&lr=0.1")
    browser.find_element(By.ID, "add-layer").click()
    _wait(browser, lambda d: _text(d, "layer-count") == "2 hidden layers", what="a new layer")
    assert parse_qs(urlsplit(browser.current_url).query)["hidden"] == ["3,3"]
    before_picture = _canvas(browser, "boundary")
    before_loss = float(_text(browser, "train-loss"))
    frames_before = browser.execute_script("return state.frames")
    started = time.monotonic()
    browser.find_element(By.ID, "play").click()
    _wait(browser, lambda d: int(_text(d, "stepcount")) >= 300, what="300 training steps")
    seconds = time.monotonic() - started
    frames = browser.execute_script("return state.frames") - frames_before
    browser.find_element(By.ID, "play").click()  # pause
    _wait(browser, lambda d: "play" in _text(d, "play"), what="pause")
    after_loss = float(_text(browser, "train-loss"))
    assert after_loss < before_loss
    assert _canvas(browser, "boundary") != before_picture
    assert browser.find_element(By.ID, "network").size["width"] > 0
    _screenshot(browser, "playground-trained.png")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "update-rate.json").write_text(
        json.dumps({"frames": frames, "seconds": round(seconds, 2), "per_second": frames / seconds})
    )
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_one_step_shows_the_backward_pass_with_its_checks(browser, server):
    _open(browser, server.url + "?hidden=3,2&batch_norm=1")
    step = int(_text(browser, "stepcount"))
    browser.find_element(By.ID, "step").click()
    _wait(browser, lambda d: int(_text(d, "stepcount")) == step + 1, what="one step")
    _wait(
        browser,
        lambda d: "Every gradient matches finite differences" in _text(d, "inside-head"),
        what="the backward panel",
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#inside-table tr[data-step]")
    modules = {row.get_attribute("data-step") for row in rows}
    assert {"0", "1", "2", "loss"} <= modules  # Linear, BatchNorm1d, Tanh, ... and the loss
    checks = browser.find_elements(By.CSS_SELECTOR, "#inside-table td.check .ok")
    assert len(checks) >= 12 and not browser.find_elements(By.CSS_SELECTOR, "#inside-table .fail")
    assert "d(loss)/d(weight)" in _text(browser, "inside-table")
    _screenshot(browser, "playground-one-step.png")


def test_a_shared_address_brings_the_configuration_back(browser, server):
    _open(browser, server.url + "?dataset=spirals&hidden=5,4,3&activation=relu&lr=0.03")
    shared = browser.current_url
    _open(browser, server.url)  # another page in between
    _open(browser, shared)
    assert _text(browser, "layer-count") == "3 hidden layers"
    chosen = browser.find_element(By.CSS_SELECTOR, "#datasets button.chosen").text
    assert chosen == "spirals"
    assert browser.find_element(By.ID, "activation").get_attribute("value") == "relu"
    assert float(browser.find_element(By.ID, "lr").get_attribute("value")) == 0.03
    assert "--dataset spirals" in _text(browser, "command")


def test_the_exported_model_loads_with_mytorch_load(browser, server, downloads):
    _open(browser, server.url + "?dataset=moons&features=x1,x2,x1_x2&hidden=4")
    browser.find_element(By.ID, "step").click()
    browser.find_element(By.ID, "export-model").click()
    found = _wait(browser, lambda d: list(downloads.glob("*.npz")), timeout=20, what="the download")
    model, header = mytorch.load(found[0], return_metadata=True)
    assert header["metadata"]["features"] == ["x1", "x2", "x1_x2"]
    assert header["metadata"]["dataset"] == "moons" and model[0].in_features == 3
