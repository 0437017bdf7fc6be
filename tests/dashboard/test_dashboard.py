"""The dashboard in a real headless browser against a real server: it loads, shows "computing" while the
forecasts are computed, draws history and every built-in scenario's fan, polls politely (304s after the
first answer, Retry-After honoured), switches scenario, posts a custom scenario and draws it, and stays
calm when the forecast service is away. Screenshots go to ``bench/out/`` (git-ignored).
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Response, expect

from tests.dashboard.conftest import Server, get, get_json

pytestmark = pytest.mark.xdist_group("dashboard")  # one server and browser per module, on one worker

LATEST = "/v1/forecasts/latest"
BUILT_IN = "baseline,liberalisation,restriction,demand-surge"
DEAL = "#custom-deals-grid tr[data-deal='{}'] input"  # a catalogue deal's cells in the custom form


@dataclass(frozen=True)
class Answer:
    started: float  # seconds, the browser's clock at the start of the request
    method: str
    path: str  # path and query
    status: int
    etag: str | None
    retry_after: str | None
    if_none_match: str | None


class Traffic:
    """Every response the page received, as the browser saw it, plus page errors and console errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        page.on("response", self._record)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)

    def _record(self, response: Response) -> None:
        parts = urllib.parse.urlsplit(response.url)
        request = response.request
        self.answers.append(Answer(
            request.timing["startTime"] / 1000,
            request.method,
            parts.path + (f"?{parts.query}" if parts.query else ""),
            response.status,
            response.headers.get("etag"),
            response.headers.get("retry-after"),
            request.headers.get("if-none-match"),
        ))

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx/5xx fetch as a console error; the tests check those statuses themselves.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")

    def of(self, prefix: str) -> dict[str, list[Answer]]:
        """GET answers whose path starts with ``prefix``, by URL, in order."""
        grouped: dict[str, list[Answer]] = {}
        for answer in self.answers:
            if answer.method == "GET" and answer.path.startswith(prefix):
                grouped.setdefault(answer.path, []).append(answer)
        return grouped

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; saw {self.summary()}")
            self.page.wait_for_timeout(100)  # lets Playwright deliver the events meanwhile

    def summary(self) -> dict[str, list[int]]:
        return {url: [a.status for a in answers] for url, answers in self.of(LATEST).items()}


def quiet_after_landing(answers: list[Answer]) -> bool:
    """A forecast landed (200) and at least one later poll revalidated it."""
    statuses = [a.status for a in answers]
    return 200 in statuses and 304 in statuses[statuses.index(200):]


def save(page: Page, tmp_path: Path, artefacts: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=shot, full_page=True)
    kept = artefacts / name
    kept.write_bytes(shot.read_bytes())
    print(f"dashboard screenshot: {kept}")  # noqa: T201 - the run's artefact, named in the output
    return kept


def test_page_and_assets_ship_in_the_package_with_cache_headers(server: Server) -> None:
    status, headers, body = get(f"{server.base}/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-cache" and headers["etag"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert get(f"{server.base}/", {"If-None-Match": headers["etag"]})[0] == 304

    links = re.findall(r'(?:src|href)="([^"]+)"', body.decode())
    assert not [link for link in links if link.startswith(("http:", "https:", "//"))], "nothing from elsewhere"
    assets = [link for link in links if link.startswith("/dashboard/")]
    assert {urllib.parse.urlsplit(a).path.rsplit("/", 1)[1] for a in assets} >= {
        "app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"}
    for asset in assets:
        status, headers, content = get(f"{server.base}{asset}")
        assert status == 200 and content and "immutable" in headers["cache-control"], asset
        assert get(f"{server.base}{asset}", {"If-None-Match": headers["etag"]})[0] == 304
    unhashed = get(f"{server.base}/dashboard/app.js")
    assert unhashed[0] == 200 and unhashed[1]["cache-control"] == "no-cache"
    assert get(f"{server.base}/dashboard/vendor/uPlot.LICENSE.txt")[2].startswith(b"The MIT License")

    missing = get(f"{server.base}/dashboard/nope.js")
    assert missing[0] == 404 and missing[1]["content-type"] == "application/problem+json"
    assert "/" not in get_json(f"{server.base}/openapi.json")["paths"]  # type: ignore[index]


def test_loads_computes_draws_switches_and_polls_with_304s(
    server: Server, page: Page, tmp_path: Path, artefacts: Path
) -> None:
    traffic = Traffic(page)
    page.goto(f"{server.base}/?poll=1")
    status = page.locator("#main-status")
    chart = page.locator("#main-chart")

    # Nothing is computed yet on this server: the page says so while the jobs run ...
    expect(status).to_have_attribute("data-state", "computing")
    expect(status).to_contain_text("Computing the baseline forecast")
    # ... and draws every built-in scenario when its forecast lands.
    expect(chart).to_have_attribute("data-scenarios-drawn", BUILT_IN, timeout=60_000)
    expect(status).to_have_attribute("data-state", "ready")
    assert int(chart.get_attribute("data-points") or 0) >= 30 + 4 * 10  # history since 1990, four fans
    assert int(chart.get_attribute("data-forecast-points") or 0) >= 4 * 10
    expect(page.locator("#main-chart canvas")).to_have_count(1)
    expect(page.locator("#compare-chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d{2,}$"))
    expect(page.locator("#compare-legend")).to_contain_text("South Korea")
    expect(page.locator("#compare-legend")).to_contain_text("China")
    events = get_json(f"{server.base}/v1/policy-events")["data"]  # type: ignore[index]
    expect(page.locator("#events li")).to_have_count(len(events))

    # Polling: every shown forecast is revalidated with its ETag, and the quiet polls are all 304s.
    traffic.wait(lambda: all(quiet_after_landing(a) for a in traffic.of(LATEST).values()), 30,
                 "a 304 for every polled forecast")
    polled = traffic.of(LATEST)
    assert len(polled) == 6, polled.keys()  # JPN's four scenarios, KOR and CHN baselines
    for url, answers in polled.items():
        statuses = [a.status for a in answers]
        landed = statuses.index(200)
        assert set(statuses[:landed]) <= {202}, (url, statuses)
        assert set(statuses[landed + 1:]) == {304}, (url, statuses)
        assert all(a.if_none_match == answers[landed].etag for a in answers[landed + 1:]), url
        for before, after in zip(answers[:landed], answers[1:landed + 1], strict=True):
            assert after.started - before.started >= float(before.retry_after or 0) - 0.05, (url, "Retry-After")

    # Switching the scenario redraws the chart around another forecast.
    before_key = chart.get_attribute("data-selected-key")
    before_image = chart.screenshot()
    before_rows = page.locator("#selected-table tbody").inner_text()
    page.select_option("#scenario", "restriction")
    expect(chart).to_have_attribute("data-selected", "restriction")
    after_key = chart.get_attribute("data-selected-key")
    assert after_key and before_key and after_key != before_key
    expect(page.locator("#selected-table")).to_have_attribute("data-key", after_key)
    assert page.locator("#selected-table tbody").inner_text() != before_rows
    assert chart.screenshot() != before_image
    assert "scenario=restriction" in page.url

    # Japan's pipeline: the deals in this scenario (tivcast's own assumptions marked) and the breakdown by cause.
    pipeline = page.locator("#pipeline-card")
    expect(pipeline).to_be_visible()
    frigates = page.locator("#pipeline-table tr[data-deal='aus-mogami-frigates']")
    expect(frigates).to_contain_text("selected")
    expect(frigates.locator(".own").first).to_be_visible()
    expect(page.locator("#pipeline-table tr[data-deal='phl-jfps3-radars'] .own")).to_have_count(1)  # slip odds
    expect(page.locator("#breakdown .bar-row")).to_have_count(10)
    expect(page.locator("#breakdown .seg[data-cause='deal:aus-mogami-frigates']").first).to_be_attached()

    # Provenance: the data source, and the versions of the forecast shown.
    result = get_json(f"{server.base}/v1/forecasts/{after_key}")
    assert isinstance(result, dict)
    expect(page.locator("#data-version")).to_have_text(result["data_version"])
    expect(page.locator("#model-version")).to_have_text(result["model_version"])
    # Model notes: members with their weights, held-out accuracy against the best simple benchmark, calibration.
    expect(page.locator("#model-method")).to_contain_text("prophet 12.5 %")
    accuracy = result["model"]["accuracy"]["this_supplier"]
    expect(page.locator("#model-accuracy")).to_contain_text(f"for {accuracy['best_simple_benchmark']}")
    expect(page.locator("#model-accuracy")).to_contain_text("Scored: the coherent ensemble on Japan's whole export "
                                                            "history, without the pipeline")
    expect(page.locator("#model-calibration")).to_contain_text("Nominal 80 %: measured")
    own = round(accuracy["interval_coverage"]["measured_80"] * 100)
    expect(page.locator("#model-calibration")).to_contain_text(f"for this country {own} % (horizons 1-5)")
    # Drivers: each with its perfect-foresight verdict from the held-out test.
    spending = result["model"]["drivers"]["japan_defence_spending"]
    verdict = "its true path lowered" if spending["improved_held_out"] else "even its true path did not lower"
    expect(page.locator("#model-drivers")).to_contain_text(
        f"japan_defence_spending (coefficient {spending['coefficient_per_step']:.3f} per step; perfect-foresight "
        f"test: {verdict} the held-out MASE, {spending['held_out']['mase_perfect_foresight']:.3f}")
    expect(page.locator("#provenance")).to_contain_text("Information from the SIPRI Arms Transfers Database")
    expect(page.locator("#main-caveat")).to_contain_text("lower bound")

    save(page, tmp_path, artefacts, "dashboard.png")
    assert not traffic.errors


def test_custom_scenario_is_posted_and_drawn(server: Server, page: Page, tmp_path: Path, artefacts: Path) -> None:
    traffic = Traffic(page)
    page.goto(f"{server.base}/?poll=5")
    chart = page.locator("#main-chart")
    expect(chart).to_have_attribute("data-scenarios-drawn", re.compile(r"\bbaseline\b"), timeout=60_000)

    page.fill("#custom-name", "gcap-boost")
    openness = "input[data-driver='export_policy_openness'][data-year='{}']"
    page.fill(openness.format(2027), "0.9")
    page.fill(openness.format(2030), "1")
    page.select_option("#custom-fill", "linear")
    page.fill(f"{DEAL.format('aus-mogami-frigates')}[data-figure='probability']", "1")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/v1/forecasts")) as posted:
        page.click("#custom-submit")
    sent = posted.value.post_data_json
    assert isinstance(sent, dict) and sent["target"] == {"country": "JPN", "measure": "share"}
    assert sent["scenario"]["pipeline"] == {"edits": [{"deal_id": "aus-mogami-frigates", "probability": 1}]}
    path = sent["scenario"]["drivers"]["export_policy_openness"]
    assert path["mode"] == "level" and path["fill"] == "linear"
    assert path["values"]["2027"] == 0.9 and path["values"]["2030"] == 1
    assert path["values"]["2025"] == path["values"]["2026"] == 0.6  # the base scenario's values until then

    expect(chart).to_have_attribute("data-scenarios-drawn", f"{BUILT_IN},gcap-boost", timeout=30_000)
    expect(chart).to_have_attribute("data-selected", "gcap-boost")
    key = chart.get_attribute("data-selected-key") or ""
    expect(page.locator("#selected-table")).to_have_attribute("data-key", key)
    result = get_json(f"{server.base}/v1/forecasts/{key}")
    assert isinstance(result, dict) and result["scenario"]["name"] == "gcap-boost"
    drivers = {row["year"]: row["drivers"]["export_policy_openness"] for row in result["forecast"]}
    assert drivers[2025] == 0.6 and drivers[2027] == 0.9 and drivers[2034] == 1
    assert drivers[2028] == pytest.approx(0.9 + 0.1 / 3, abs=1e-4)  # interpolated between the given years
    signed = next(d for d in result["pipeline"]["deals"] if d["deal_id"] == "aus-mogami-frigates")
    assert signed["scenario_probability"] == 1
    expect(page.locator("#custom-status")).to_have_attribute("data-state", "ready")
    save(page, tmp_path, artefacts, "dashboard-custom.png")

    # A value out of range: the API's 422 is shown, naming the cell; nothing is drawn for it.
    page.fill("#custom-name", "too-open")
    page.fill(f"{DEAL.format('aus-mogami-frigates')}[data-figure='probability']", "")
    page.fill(openness.format(2027), "1.5")
    page.click("#custom-submit")
    expect(page.locator("#custom-status")).to_contain_text("export_policy_openness[2027]")
    expect(page.locator(openness.format(2027))).to_have_class(re.compile(r"\binvalid\b"))
    expect(chart).to_have_attribute("data-scenarios-drawn", f"{BUILT_IN},gcap-boost")
    assert any(a.method == "POST" and a.status == 422 for a in traffic.answers)
    assert not traffic.errors


def posted_scenario(page: Page, action: Callable[[], None]) -> dict:
    """The scenario of the ``POST /v1/forecasts`` that ``action`` makes the page send."""
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/v1/forecasts")) as posted:
        action()
    sent = posted.value.post_data_json
    assert isinstance(sent, dict) and sent["target"] == {"country": "JPN", "measure": "share"}
    return sent["scenario"]


def drawn_result(server: Server, page: Page, name: str) -> dict:
    """The forecast of custom scenario ``name`` once the page draws it (its pipeline table included)."""
    chart = page.locator("#main-chart")
    expect(chart).to_have_attribute("data-scenarios-drawn", re.compile(rf",{name}$"), timeout=60_000)
    expect(chart).to_have_attribute("data-selected", name)
    key = chart.get_attribute("data-selected-key") or ""
    expect(page.locator("#selected-table")).to_have_attribute("data-key", key)
    expect(page.locator("#custom-status")).to_have_attribute("data-state", "ready")
    result = get_json(f"{server.base}/v1/forecasts/{key}")
    assert isinstance(result, dict) and result["scenario"]["name"] == name
    return result


def test_custom_deals_are_removed_edited_and_added(
    server: Server, page: Page, tmp_path: Path, artefacts: Path
) -> None:
    """Japan's deals in the custom form: a removal, new units, TIV per unit and delivery years, an added deal,
    each posted as the API's ``scenario.pipeline`` (only what was changed), and the API's 422s shown."""
    traffic = Traffic(page)
    page.goto(f"{server.base}/?poll=5")
    expect(page.locator("#main-chart")).to_have_attribute("data-scenarios-drawn", re.compile(r"\bbaseline\b"),
                                                          timeout=60_000)
    expect(page.locator("#custom-deals")).to_be_visible()
    baseline = get_json(f"{server.base}{LATEST}?country=JPN&scenario=baseline")
    assert isinstance(baseline, dict)
    baseline_2030 = next(r["point"] for r in baseline["forecast"] if r["year"] == 2030)
    frigates, line, pac3 = "aus-mogami-frigates", "aus-mogami-frigates-australian-built", "usa-pac3-mse"
    expect(page.get_by_label(f"units ordered of {pac3}", exact=True)).to_have_attribute("placeholder", "30")
    expect(page.get_by_label(f"TIV per unit of {frigates}, low", exact=True)).to_have_attribute("placeholder", "250")
    expect(page.get_by_label(f"delivery years of {line}", exact=True)).to_have_attribute("placeholder", "2033-2040")

    # Removing the frigate contract without its Australian-built line: the API's 422 names the removal.
    page.fill("#custom-name", "no-frigates")
    page.fill(f"{DEAL.format(frigates)}[data-figure='probability']", "0.9")  # not sent: the deal is removed
    page.get_by_label(f"remove {frigates}", exact=True).check()
    expect(page.locator(f"{DEAL.format(frigates)}[data-figure='probability']")).to_be_disabled()
    scenario = posted_scenario(page, lambda: page.click("#custom-submit"))
    assert scenario["drivers"] == {}
    assert scenario["pipeline"] == {"edits": [{"deal_id": frigates, "remove": True}]}
    status = page.locator("#custom-status")
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("a line cannot be delivered without its contract")
    expect(status).to_contain_text(f"scenario.pipeline.edits[0].remove, deal {frigates}")
    expect(page.get_by_label(f"remove {frigates}", exact=True)).to_have_class(re.compile(r"\binvalid\b"))

    # Both frigate lines removed: no frigate in the forecast, and Japan's 2030 share below the baseline's.
    page.get_by_label(f"remove {line}", exact=True).check()
    scenario = posted_scenario(page, lambda: page.click("#custom-submit"))
    assert scenario["pipeline"] == {"edits": [{"deal_id": frigates, "remove": True},
                                              {"deal_id": line, "remove": True}]}
    result = drawn_result(server, page, "no-frigates")
    assert [e["deal_id"] for e in result["scenario"]["pipeline"]["edits"] if e["remove"]] == [frigates, line]
    assert not {frigates, line} & {d["deal_id"] for d in result["request"]["scenario"]["pipeline"]["deals"]}
    assert next(r["point"] for r in result["forecast"] if r["year"] == 2030) < baseline_2030
    expect(page.locator("#pipeline-table tbody tr")).to_have_count(3)
    expect(page.locator(f"#pipeline-table tr[data-deal='{frigates}']")).to_have_count(0)
    expect(page.locator("#pipeline-table tr[data-deal='usa-pac3-mse']")).to_be_visible()

    # Edits and an added deal; a figure typed as it already is (PAC-3's 1.5 TIV) is no edit.
    page.fill("#custom-name", "pac3-and-nzl")
    page.get_by_label(f"remove {frigates}", exact=True).uncheck()
    page.get_by_label(f"remove {line}", exact=True).uncheck()
    page.fill(f"{DEAL.format(frigates)}[data-figure='probability']", "")
    page.fill(f"{DEAL.format(pac3)}[data-figure='units']", "60")
    page.fill(f"{DEAL.format(pac3)}[data-figure='tiv_central']", "1.5")
    page.fill(f"{DEAL.format(frigates)}[data-figure='tiv_low']", "300")
    page.fill(f"{DEAL.format(frigates)}[data-figure='delivery_years']", "2030-2032")
    page.click("#custom-add")
    added = page.locator("#custom-added fieldset").first
    expect(added.locator("legend")).to_have_text("Added deal 1")
    added.get_by_label("Deal id").fill("nzl-frigates")
    added.get_by_label("Recipient (ISO3)").fill("nzl")
    added.get_by_label("System").fill("Mogami-class frigate")
    added.get_by_label("Order year").fill("2027")
    added.get_by_label("Units ordered").fill("2")
    added.get_by_label("TIV per unit, central").fill("300")
    added.get_by_label("Delivery years").fill("2031, 2032")
    added.get_by_label("Probability", exact=True).fill("0.3")
    scenario = posted_scenario(page, lambda: page.click("#custom-submit"))
    assert scenario["pipeline"] == {
        "edits": [{"deal_id": pac3, "units": 60},
                  {"deal_id": frigates, "tiv_per_unit": [300, 400, 550], "delivery_years": [2030, 2031, 2032]}],
        "added": [{"deal_id": "nzl-frigates", "recipient": "NZL", "system": "Mogami-class frigate",
                   "status": "prospect", "order_year": 2027, "units_ordered": 2, "tiv_per_unit": 300,
                   "delivery_years": [2031, 2032], "probability": 0.3}],
    }
    result = drawn_result(server, page, "pac3-and-nzl")
    deals = {d["deal_id"]: d for d in result["pipeline"]["deals"]}
    assert deals[pac3]["units_ordered"] == 60 and deals[pac3]["origin"]["units"] == "request"
    assert deals[frigates]["tiv_per_unit"] == {"low": 300, "central": 400, "high": 550}
    assert deals[frigates]["delivery_years"] == [2030, 2031, 2032]
    assert deals["nzl-frigates"]["scenario_probability"] == 0.3
    assert deals["nzl-frigates"]["delivery_years"] == [2031, 2032]
    expect(page.locator("#pipeline-table tr[data-deal='nzl-frigates']")).to_contain_text("NZL")
    save(page, tmp_path, artefacts, "dashboard-custom-deals.png")

    # Invalid entries: the API's 422 is shown with the field it names, and the cell is marked.
    page.fill("#custom-name", "bad-deals")
    page.fill(f"{DEAL.format(pac3)}[data-figure='delivery_years']", "2023")
    page.click("#custom-submit")
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("precedes the order")
    expect(status).to_contain_text(f"scenario.pipeline.edits[0].delivery_years, deal {pac3}")
    expect(page.get_by_label(f"delivery years of {pac3}", exact=True)).to_have_class(re.compile(r"\binvalid\b"))
    page.fill(f"{DEAL.format(pac3)}[data-figure='delivery_years']", "")
    added.get_by_label("TIV per unit, central").fill("-5")
    page.click("#custom-submit")
    expect(status).to_contain_text("'scenario.pipeline.added[0].tiv_per_unit' must be a number in [0, 100000]")
    expect(status).to_contain_text("added deal 1")
    expect(added.get_by_label("TIV per unit, central")).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.get_by_label(f"delivery years of {pac3}", exact=True)).not_to_have_class(re.compile(r"\binvalid\b"))
    expect(page.locator("#main-chart")).to_have_attribute("data-scenarios-drawn",
                                                          f"{BUILT_IN},no-frigates,pac3-and-nzl")
    assert sum(a.method == "POST" and a.status == 422 for a in traffic.answers) == 3
    assert not traffic.errors


HIDE = """() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
    return Date.now() / 1000;
}"""
SHOW = """() => {
    delete document.hidden;
    delete document.visibilityState;
    document.dispatchEvent(new Event("visibilitychange"));
    return Date.now() / 1000;
}"""


def test_polling_pauses_while_the_tab_is_hidden(server: Server, page: Page) -> None:
    """Headless Chromium has no background tabs, so the page is told it is hidden through the Page
    Visibility API (document.hidden and the visibilitychange event); the requests counted are real."""
    traffic = Traffic(page)
    page.goto(f"{server.base}/?poll=1")
    traffic.wait(lambda: sum(a.status == 304 for v in traffic.of(LATEST).values() for a in v) >= 6, 60,
                 "quiet polls")
    hidden_at = page.evaluate(HIDE)
    page.wait_for_timeout(3500)  # three quiet intervals
    shown_at = page.evaluate(SHOW)
    traffic.wait(lambda: any(a.started > shown_at for v in traffic.of(LATEST).values() for a in v), 5,
                 "polling to resume when the tab shows again")
    while_hidden = [a for v in traffic.of(LATEST).values() for a in v if hidden_at + 0.05 < a.started < shown_at]
    assert not while_hidden, while_hidden
    assert not traffic.errors


def test_forecast_service_away_is_a_calm_message(
    outage_server: Server, page: Page, tmp_path: Path, artefacts: Path
) -> None:
    traffic = Traffic(page)
    page.goto(f"{outage_server.base}/?poll=1")
    status = page.locator("#main-status")
    expect(status).to_have_attribute("data-state", "unavailable")
    expect(status).to_contain_text("unavailable at the moment")
    expect(status).to_contain_text("trying again")
    # The history does not depend on the forecast service: it is drawn, with no error banner.
    expect(page.locator("#main-chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d+$"))
    expect(page.locator("#banner")).to_be_hidden()

    # Each wait honours Retry-After and the page's own back-off (2 s, 4 s, ... while the 503s go on).
    url = f"{LATEST}?country=JPN&scenario=baseline"
    traffic.wait(lambda: len(traffic.of(url).get(url, [])) >= 3, 30, "three polls of the baseline")
    answers = traffic.of(url)[url]
    assert all(a.status == 503 and a.retry_after for a in answers)
    for i, (earlier, later) in enumerate(zip(answers, answers[1:], strict=False)):
        wait = later.started - earlier.started
        assert wait >= max(float(earlier.retry_after or 0), 2.0 * 2**i) - 0.05, (i, wait, earlier.retry_after)

    save(page, tmp_path, artefacts, "dashboard-503.png")
    assert not traffic.errors


def test_a_new_data_release_brings_new_forecasts(server: Server, page: Page, tmp_path: Path) -> None:
    """Runs last on its server: it loads a revised arms-exports file with ``tivcast ingest``, as an operator
    would, and the page, still polling, shows the new forecasts (keeping the old ones until they land)."""
    traffic = Traffic(page)
    page.goto(f"{server.base}/?poll=1&scenario=baseline")
    chart = page.locator("#main-chart")
    status = page.locator("#main-status")
    expect(chart).to_have_attribute("data-scenarios-drawn", BUILT_IN, timeout=60_000)
    old_key = chart.get_attribute("data-selected-key")
    old_version = page.locator("#data-version").inner_text()

    shipped = resources.files("api").joinpath("data", "arms-exports.csv").read_text(encoding="utf-8")
    assert "JPN,2024,21,," in shipped
    revised = tmp_path / "arms-exports-revised.csv"
    revised.write_text(shipped.replace("JPN,2024,21,,", "JPN,2024,60,,"), encoding="utf-8")
    server.cli("ingest", str(revised), "--dataset", "arms-exports", "--release", "test-revision")

    expect(status).to_contain_text("showing the previous one meanwhile", timeout=30_000)
    expect(chart).not_to_have_attribute("data-selected-key", old_key or "", timeout=60_000)
    expect(status).to_have_attribute("data-state", "ready")
    expect(page.locator("#data-version")).not_to_have_text(old_version)
    expect(page.locator("#provenance")).to_contain_text("test-revision")
    new_key = chart.get_attribute("data-selected-key")
    latest = traffic.of(f"{LATEST}?country=JPN&scenario=baseline")[f"{LATEST}?country=JPN&scenario=baseline"]
    assert [a.etag for a in latest if a.status == 200] == [f'"{old_key}"', f'"{new_key}"']
    assert not traffic.errors
