"""The console in real headless Chromium against a real daemon (Debian's chromium and chromium-driver).

One daemon, one console and one browser serve the module. The daemon delays
every ``ProvisionVault`` by 1.5 s (so a UserProvisioning run is seen
running before it completes) and every NAS ``DispatchTraining`` by 3 s (so
a NAS run can be cancelled from its page while it runs). "Without reload"
is checked with a marker set on the page's window: a reload would drop it.

Screenshots of each page go to ``$SAGALINE_SCREENSHOTS`` (default
``build/screenshots``); ``docs/screenshots`` holds a set from one run.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from sagaline import Client
from sagaline.testing.daemon import DaemonProcess
from tests.web.browser import Browser, available
from tests.web.console import WebProcess

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("SAGALINE_SCREENSHOTS") or REPO / "build" / "screenshots")
CONFIG = {
    "faults": {
        "block": [{"command": "ProvisionVault", "action": "delay", "seconds": 1.5}],
        "bridge": [{"command": "DispatchTraining", "action": "delay", "seconds": 3.0}],
    }
}

_missing = available()
if _missing and os.environ.get("SAGALINE_REQUIRE_BROWSER"):
    raise RuntimeError(f"the browser tests must run here (SAGALINE_REQUIRE_BROWSER is set): {_missing}")
pytestmark = [
    pytest.mark.multiproc,
    pytest.mark.skipif(_missing is not None, reason=str(_missing)),
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("web-daemon"), CONFIG).start()
    yield process
    result = process.stop()
    assert result.exit_code == 0 and not result.leftovers, f"daemon: {result}; {process.stderr()[-2000:]}"


@pytest.fixture(scope="module")
def web(daemon, tmp_path_factory):
    console = WebProcess(daemon, tmp_path_factory.mktemp("web")).start()
    yield console
    assert console.stop() == 0, console.log.read_text()[-2000:]


@pytest.fixture(scope="module")
def browser(web):
    session = Browser(SHOTS)
    yield session
    leaked = session.quit()
    assert not leaked, f"browser processes left after quit (killed): {sorted(leaked)}"


@pytest.fixture(scope="module")
def client(daemon):
    with Client(daemon.data_dir) as connected:
        yield connected


def _open(browser, url):
    """Open ``url``, wait until its live stream (if any) is connected, mark the window."""
    browser.get(url)
    if browser.driver.execute_script("return document.body.hasAttribute('data-live')"):
        browser.wait(lambda: browser.css("#live-status").text in ("live", "final"), what="the live stream")
    browser.driver.execute_script("window.__sagalineMarker = 'no reload'")


def _not_reloaded(browser):
    return browser.driver.execute_script("return window.__sagalineMarker") == "no reload"


def _status(browser, selector):
    return (browser.read(selector) or {}).get("status")


def test_a_run_started_from_the_form_appears_on_the_runs_page_and_completes_without_reload(browser, web):
    _open(browser, f"{web.url}/runs")
    runs_tab = browser.driver.current_window_handle
    browser.driver.switch_to.new_window("tab")
    _open(browser, f"{web.url}/sagas/user_provisioning")
    browser.css("#in-email").send_keys("ada@example.com")
    browser.shot("saga")
    browser.css("#start-run").click()
    flash = browser.wait(lambda: browser.css("p.flash.ok").text, what="the start's notice")
    cid = re.search(r"Started run ([0-9a-f-]{36})", flash).group(1)
    browser.driver.close()
    browser.driver.switch_to.window(runs_tab)
    browser.wait(lambda: browser.all(f"#run-{cid}"), what=f"run {cid} to appear")
    seen = {_status(browser, f"#run-{cid}")}
    browser.wait(lambda: seen.add(_status(browser, f"#run-{cid}")) or "completed" in seen, what="the run to complete")
    assert "running" in seen or "completed" in seen
    assert _not_reloaded(browser)
    browser.wait(lambda: re.search(r"completed\s+\d+", browser.css("#runs-counts").text), what="the counts")
    browser.shot("runs")
    test_a_run_started_from_the_form_appears_on_the_runs_page_and_completes_without_reload.cid = cid


def test_a_completed_runs_page_shows_its_timeline_from_the_trace(browser, web):
    cid = test_a_run_started_from_the_form_appears_on_the_runs_page_and_completes_without_reload.cid
    browser.get(f"{web.url}/runs")
    browser.wait(lambda: browser.css(f"#run-{cid} a.cid").click() or True, what="a click on the run's link")
    browser.wait(lambda: cid in browser.driver.current_url, what="the run's page")

    def spans_shown():
        if "From the run's trace spans" in browser.css("section.timeline").text:
            return True
        browser.driver.refresh()  # the actors export spans in batches: look again
        return False

    browser.wait(spans_shown, timeout=30, what="the trace spans")
    labels = [e.text for e in browser.all("table.gantt td.label")]
    assert "saga user_provisioning" in labels and "step provision_vault" in labels and "block ProvisionVault" in labels
    states = {n.get_attribute("data-step"): n.get_attribute("data-status") for n in browser.all("svg.graph g.node")}
    assert set(states.values()) == {"succeeded"} and len(states) == 7
    browser.shot("run")


def test_a_running_nas_run_cancelled_from_its_page_rolls_back(browser, web, client):
    started = client.start("cerebros_nas", {"dataset_id": "digits", "max_trials": 1})
    cid = started.correlation_id
    _open(browser, f"{web.url}/runs/{cid}")
    # the live part is replaced as the run moves: find and click in one go, again if it was replaced
    browser.wait(lambda: browser.css("#action-cancel").click() or True, what="a click on Cancel of a running run")
    alert = browser.wait(lambda: _alert(browser), what="the confirmation")
    assert "Cancel this run?" in alert.text
    alert.accept()
    browser.wait(lambda: "Cancel accepted" in browser.css("p.flash.ok").text, what="the cancel's answer")
    browser.wait(
        lambda: "cancelled" in browser.css("section.run-head .status").text, timeout=60, what="the run to end cancelled"
    )
    states = {n.get_attribute("data-step"): n.get_attribute("data-status") for n in browser.all("svg.graph g.node")}
    assert states["create_model_run"] == "undone" and states["dispatch_training"] in ("undone", "pending")
    assert "Resume" in browser.css("section.run-head").text
    assert client.get(cid).status == "cancelled"
    browser.wait(lambda: _undo_spans(browser), timeout=30, what="the undo spans in the timeline")
    browser.shot("run-cancelled")


def _alert(browser):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return browser.driver.switch_to.alert
    except NoAlertPresentException:
        return None


def _undo_spans(browser):
    if any(e.text.startswith("undo create_model_run") for e in browser.all("table.gantt tr.rollback td.label")):
        return True
    browser.driver.refresh()
    return False


def test_a_killed_actors_restart_appears_in_the_tree_without_reload(browser, web, client):
    _open(browser, f"{web.url}/tree")
    gate = 'tr[data-actor="root/gate"]'
    row = browser.read(gate)
    pid, restarts = int(row["pid"]), int(row["restarts"])
    os.kill(pid, signal.SIGKILL)

    def restarted():
        now = browser.read(gate)
        return now if int(now["restarts"]) == restarts + 1 and now["pid"] not in ("", str(pid)) else None

    row = browser.wait(restarted, what="gate's restart in the tree")
    assert "killed" in row["text"]
    assert _not_reloaded(browser)
    browser.shot("tree")


def test_the_event_tail_shows_new_events_without_reload(browser, web, client):
    _open(browser, f"{web.url}/events")
    started = client.start("user_provisioning", {"email": "grace@example.com"}, wait=True)
    browser.wait(lambda: started.correlation_id in browser.css("#events-rows").text, what="the run's event")
    assert "user.onboarding.complete" in browser.css("#events-rows").text and _not_reloaded(browser)
    browser.shot("events")


def test_the_catalog_lists_every_saga_with_its_inputs(browser, web):
    _open(browser, f"{web.url}/sagas")
    text = browser.css("table.sagas").text
    assert all(name in text for name in ("cerebros_nas", "upm_activation", "user_provisioning"))
    browser.shot("sagas")
