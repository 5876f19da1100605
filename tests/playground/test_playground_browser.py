"""The playground page end to end in headless Chromium (Debian's chromium + chromedriver, driven by
selenium): an image match with its region outlined (and none on a no-match), audio segments drawn between
two timelines whose axes are the files' real durations (the real audio engine behind the API), several
segments labelled, a 390 px wide phone, and errors in plain words naming the file. Screenshots are kept in
tests/artifacts/ (CI keeps them as artifacts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from medialayer.api import build_app
from medialayer.calibration import Calibration
from medialayer.caps import MediaCaps
from medialayer.engine import Comparison, MatchedSegment
from medialayer.settings import Settings
from tests.audio.synth import SR, notes
from tests.audio.synth import wav_bytes as pcm_wav
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


UNRELATED_JPEG = jpeg_bytes(3)


class FakeImage:
    """Stands in for the engine: the page, not the matcher, is under test here. ``/c.jpg`` is "unrelated":
    no match, with the engine's best-guess relation framing the whole source (what the page must not draw)."""

    media_type = "image"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        if target.read_bytes() == UNRELATED_JPEG:
            return Comparison(raw_score=0.05, details={"relation": {"crop_box": [0, 0, 320, 240], "mirrored": False}})
        return Comparison(raw_score=0.9, details={"relation": {"crop_box": [40, 30, 200, 180], "mirrored": False}})

    def calibration(self) -> Calibration:
        return CAL


#: Several segments on a 300 s source; the second is 2.5 s (the shortest the verdict keeps), a few px wide,
#: so its label goes beside the bar instead of inside.
SEGMENTS = [
    MatchedSegment(source_start=10, source_end=25, target_start=0, target_end=15, score=0.9),
    MatchedSegment(source_start=140, source_end=142.5, target_start=40, target_end=42.5, score=0.7),
    MatchedSegment(source_start=200, source_end=230, target_start=60, target_end=90, score=0.8),
]


class FakeAudio(FakeImage):
    """Three segments; its details carry durations like the real pipeline's (which the real test checks)."""

    media_type = "audio"

    def compare_files(self, source: Path, target: Path, caps: MediaCaps) -> Comparison:
        return Comparison(
            raw_score=0.85, segments=list(SEGMENTS), details={"source_duration_s": 300, "target_duration_s": 120}
        )


#: The real-engine pair: a 20 s melody and a 17 s file holding its 5-15 s stretch at 4 s.
MELODY = notes(20.0, seed=3)
EXCERPT = np.concatenate([notes(4.0, seed=9), MELODY[5 * SR : 15 * SR], notes(3.0, seed=11)])


@pytest.fixture(scope="module")
def site():
    with MediaServer() as media:
        media.add("/a.jpg", Route(body=jpeg_bytes(1)))
        media.add("/b.jpg", Route(body=jpeg_bytes(2)))
        media.add("/c.jpg", Route(body=UNRELATED_JPEG))
        media.add("/a.wav", Route(body=wav_bytes()))
        media.add("/melody.wav", Route(body=pcm_wav(MELODY, SR)))
        media.add("/excerpt.wav", Route(body=pcm_wav(EXCERPT, SR)))
        settings = Settings(allow_private_hosts=media.host, demo_requests_per_window=50)
        app = build_app({"image": FakeImage, "audio": FakeAudio, "video": None}, settings=settings)
        with running(app) as base:
            yield base, media


@pytest.fixture(scope="module")
def real_audio_site(site):
    """The same page served with the real audio engine behind the API (durations from the pipeline)."""
    from audio_match.app import comparer

    _, media = site
    settings = Settings(allow_private_hosts=media.host, demo_requests_per_window=50)
    with running(build_app({"audio": comparer}, settings=settings)) as base:
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


@pytest.fixture
def narrow(browser):
    """The browser as a 390 px wide phone (device metrics emulated, so the viewport is exactly 390)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    )
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


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


def box_of(driver, css: str) -> dict[str, float]:
    """The element's on-screen box (CSS px)."""
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {x: r.x, y: r.y, w: r.width, h: r.height};",
        css,
    )


def drawn_time(driver, bar_css: str, track_css: str, duration_s: float) -> tuple[float, float]:
    """The (start, end) in seconds a drawn bar covers, read off its track's scale."""
    bar, track = box_of(driver, bar_css), box_of(driver, track_css)
    per_s = track["w"] / duration_s
    return (bar["x"] - track["x"]) / per_s, (bar["x"] + bar["w"] - track["x"]) / per_s


def test_audio_axes_are_the_files_real_durations(real_audio_site, browser):
    """The real engine behind the API: the axes end at 20.0 s and 17.0 s (the WAVs' lengths, not the last
    segment end) and the matched bar sits at 5-15 s of the source and 4-14 s of the target on that scale."""
    base, media = real_audio_site
    compare(browser, base, "audio", media.url("/melody.wav"), media.url("/excerpt.wav"))
    wait_for(browser, "#timelines")
    assert browser.find_element("id", "verdict").text == "Match"
    assert browser.find_element("id", "source-axis-end").text == "20.0 s"
    assert browser.find_element("id", "target-axis-end").text == "17.0 s"
    bars = browser.find_elements("css selector", "#timelines rect.seg-source")
    assert len(bars) >= 1
    longest = max(range(len(bars)), key=lambda i: bars[i].size["width"]) + 1
    start, end = drawn_time(browser, f'rect.seg-source[data-index="{longest}"]', "#source-track", 20.0)
    assert start == pytest.approx(5.0, abs=0.6) and end == pytest.approx(15.0, abs=0.6)
    start, end = drawn_time(browser, f'rect.seg-target[data-index="{longest}"]', "#target-track", 17.0)
    assert start == pytest.approx(4.0, abs=0.6) and end == pytest.approx(14.0, abs=0.6)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "playground-audio.png"))


def test_several_segments_are_labelled(site, browser):
    base, media = site
    compare(browser, base, "audio", media.url("/a.wav"), media.url("/a.wav"))
    wait_for(browser, "#timelines")
    assert len(browser.find_elements("css selector", "#timelines polygon.segment")) == 3
    for n, seg in enumerate(SEGMENTS, 1):
        labels = browser.find_elements("css selector", f'#timelines text.seg-label[data-index="{n}"]')
        assert [label.text for label in labels] == [str(n), str(n)]  # on the source bar and the target bar
        tip = browser.execute_script(
            "return document.querySelector(arguments[0]).textContent;", f'polygon.segment[data-index="{n}"] title'
        )
        assert f"source {seg.source_start:.1f} s–{seg.source_end:.1f} s" in tip
        assert f"target {seg.target_start:.1f} s–{seg.target_end:.1f} s" in tip
        item = browser.find_element("css selector", f'#segment-list li[data-index="{n}"]').text
        assert f"source {seg.source_start:.1f} s–{seg.source_end:.1f} s" in item and f"score {seg.score:.2f}" in item
    # the 2.5 s segment's label does not fit inside its bar: it is drawn beside it
    short = box_of(browser, 'text.seg-label[data-index="2"]')
    bar = box_of(browser, 'rect.seg-source[data-index="2"]')
    assert short["x"] >= bar["x"] + bar["w"] - 0.5
    assert browser.find_element("id", "source-axis-end").text == "300.0 s"
    browser.save_screenshot(str(ARTIFACTS / "playground-segments.png"))


def test_image_no_match_frames_no_region(site, browser):
    base, media = site
    compare(browser, base, "image", media.url("/a.jpg"), media.url("/c.jpg"))
    assert wait_for(browser, "#verdict").text == "No match"
    browser.execute_script(
        "return new Promise((done) => { const i = document.getElementById('src-img');"
        " if (i.complete) done(); else i.onload = () => done(); });"
    )
    assert browser.find_elements("id", "match-box") == []
    assert "no matching region" in browser.find_element("id", "src-fig").text
    browser.save_screenshot(str(ARTIFACTS / "playground-image-nomatch.png"))


def test_readable_at_390_px(site, narrow):
    """A phone: nothing wider than the screen, the timeline drawn at its own width (12 px text, not a
    960-wide drawing scaled down to 5 px), labels and list still there."""
    base, media = site
    compare(narrow, base, "audio", media.url("/a.wav"), media.url("/a.wav"))
    wait_for(narrow, "#timelines")
    assert narrow.execute_script("return window.innerWidth") == 390
    assert narrow.execute_script("return document.documentElement.scrollWidth") <= 390
    svg = box_of(narrow, "#timelines")
    assert 300 <= svg["w"] <= 390 and svg["x"] >= 0
    for css in ("#source-axis-end", "#target-axis-end", 'text.seg-label[data-index="1"]'):
        text = box_of(narrow, css)
        assert text["h"] >= 10, css  # rendered glyph box in CSS px
        assert 0 <= text["x"] and text["x"] + text["w"] <= 390, css
    for field in ("source", "target"):
        assert box_of(narrow, f"#{field}")["x"] + box_of(narrow, f"#{field}")["w"] <= 390
    assert len(narrow.find_elements("css selector", "#segment-list li")) == 3
    narrow.save_screenshot(str(ARTIFACTS / "playground-390px.png"))


def test_errors_in_plain_words(site, browser):
    base, _ = site
    compare(browser, base, "image", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.jpg")
    card = wait_for(browser, "#error-card")
    assert "must be a public http(s) address" in card.text and "invalid_url" in card.text
    compare(browser, base, "video", "https://example.com/a.mp4", "https://example.com/b.mp4")
    assert "not available on this server yet" in wait_for(browser, "#error-card").text
    browser.save_screenshot(str(ARTIFACTS / "playground-error.png"))


def test_error_names_the_file(site, browser):
    base, media = site
    compare(browser, base, "image", media.url("/a.jpg"), media.url("/missing.jpg"))
    card = wait_for(browser, "#error-card")
    assert "couldn't download the target file" in card.text
    assert browser.find_element("id", "error-field").text == "target_url"
    assert browser.find_element("id", "target").get_attribute("aria-invalid") == "true"
    assert browser.find_element("id", "source").get_attribute("aria-invalid") is None
    browser.save_screenshot(str(ARTIFACTS / "playground-error-field.png"))
