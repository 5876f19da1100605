"""The playground page end to end in headless Chromium (Debian's chromium + chromedriver, driven by
selenium): an image match with its region outlined, audio segments drawn between two timelines, and an
error in plain words. Screenshots are kept in tests/artifacts/ (CI keeps them as artifacts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medialayer.api import build_app
from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison, MatchedSegment
from medialayer.settings import Settings
from tests.support.apiserver import running
from tests.support.media import jpeg_bytes, wav_bytes
from tests.support.mediaserver import MediaServer, Route

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="Debian chromium and chromium-driver are not installed"
)

CAL = Calibration(medium="x", version="test", raw_floor=0, raw_clear=0.2, raw_match=0.5, raw_high=0.8, raw_top=1)


class FakeImage:
    """Stands in for the engine: the page, not the matcher, is under test here."""

    media_type = "image"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        return Comparison(raw_score=0.9, details={"relation": {"crop_box": [40, 30, 200, 180], "mirrored": False}})

    def calibration(self) -> Calibration:
        return CAL


class FakeAudio(FakeImage):
    media_type = "audio"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        seg = MatchedSegment(source_start=10, source_end=25, target_start=0, target_end=15, score=0.9)
        return Comparison(raw_score=0.85, segments=[seg], details={"source_duration_s": 60, "target_duration_s": 20})


@pytest.fixture(scope="module")
def site():
    with MediaServer() as media:
        media.add("/a.jpg", Route(body=jpeg_bytes(1)))
        media.add("/b.jpg", Route(body=jpeg_bytes(2)))
        media.add("/a.wav", Route(body=wav_bytes()))
        settings = Settings(allow_private_hosts=media.host, demo_requests_per_window=50)
        app = build_app({"image": FakeImage, "audio": FakeAudio, "video": None}, settings=settings)
        with running(app) as base:
            yield base, media


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def compare(driver, base: str, medium: str, source: str, target: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/")
    driver.find_element(By.CSS_SELECTOR, f"input[name=medium][value={medium}]").click()
    driver.find_element(By.ID, "source").send_keys(source)
    driver.find_element(By.ID, "target").send_keys(target)
    driver.find_element(By.ID, "go").click()


def wait_for(driver, css: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_image_match_shows_verdict_and_region(site, browser):
    base, media = site
    compare(browser, base, "image", media.url("/a.jpg"), media.url("/b.jpg"))
    assert wait_for(browser, "#verdict").text == "Match"
    assert browser.find_element("id", "confidence").text == "high"
    box = wait_for(browser, "#match-box")
    assert box.size["width"] > 10 and box.size["height"] > 10
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "playground-image.png"))


def test_audio_segments_drawn_between_timelines(site, browser):
    base, media = site
    compare(browser, base, "audio", media.url("/a.wav"), media.url("/a.wav"))
    wait_for(browser, "#timelines")
    assert len(browser.find_elements("css selector", "#timelines polygon.segment")) == 1
    browser.save_screenshot(str(ARTIFACTS / "playground-audio.png"))


def test_errors_in_plain_words(site, browser):
    base, _ = site
    compare(browser, base, "image", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.jpg")
    card = wait_for(browser, "#error-card")
    assert "must be a public http(s) address" in card.text and "invalid_url" in card.text
    compare(browser, base, "video", "https://example.com/a.mp4", "https://example.com/b.mp4")
    assert "not available on this server yet" in wait_for(browser, "#error-card").text
    browser.save_screenshot(str(ARTIFACTS / "playground-error.png"))
