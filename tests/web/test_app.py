"""The console's pages, forms and guards through Starlette's test client, against a stand-in gateway."""

import re

import pytest
from starlette.testclient import TestClient

from sagaline.web.app import create_app
from sagaline.web.settings import WebSettings
from tests.web.fakes import FakeGateway
from tests.web.samples import CID, DONE

BASE = "http://127.0.0.1:7721"


@pytest.fixture
def gateway():
    return FakeGateway()


@pytest.fixture
def client(gateway, tmp_path):
    app = create_app(WebSettings(poll_s=0.1), gateway=gateway, telemetry_dir=tmp_path)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def _token(page: str) -> str:
    return re.search(r'name="sagaline-token" content="([0-9a-f]+)"', page).group(1)


def _post(client, path, data, origin=BASE):
    token = _token(client.get("/runs").text)
    return client.post(path, data={"token": token, **data}, headers={"Origin": origin} if origin else {})


@pytest.mark.parametrize(
    "path, text",
    [
        ("/runs", CID),
        (f"/runs/{CID}", "provision_vault"),
        (f"/runs/{DONE}", "ada@example.com"),
        ("/sagas", "onboard"),
        ("/sagas/onboard", "max_trials"),
        ("/tree", "domain:gate"),
        ("/events", "user.onboarding.complete"),
        ("/convention", "127.0.0.1:4001"),
    ],
)
def test_every_page_renders_without_javascript(client, path, text):
    page = client.get(path)
    assert page.status_code == 200 and text in page.text
    assert '<script src="/static/console.js" defer>' in page.text and "<script>" not in page.text


def test_the_runs_page_counts_runs_by_status_and_pages(client):
    page = client.get("/runs").text
    assert re.search(r"completed</span> <b>1</b>", page) and re.search(r"running</span> <b>1</b>", page)
    assert "2 runs · page 1 of 1" in page
    assert 'data-live="/live/runs?"' in page


def test_a_filter_the_daemon_lacks_is_applied_here(client, gateway):
    page = client.get(f"/runs?id={DONE[:12]}").text
    assert DONE in page and CID not in page.split("<tbody")[1]
    assert gateway.requests[0].limit == 2000


def test_a_bad_filter_is_a_400_naming_it(client):
    page = client.get("/runs?status=bogus")
    assert page.status_code == 400 and "status: unknown" in page.text


def test_a_running_run_offers_cancel_with_a_confirmation_and_is_live(client):
    page = client.get(f"/runs/{CID}").text
    assert 'data-confirm="Cancel this run?' in page and 'id="action-cancel"' in page
    assert f'data-live="/live/runs/{CID}"' in page
    assert '<g class="node st-running" data-step="provision_vault"' in page
    assert "step provision_vault" in page  # the timeline from step times (no spans in tmp_path)


def test_an_ended_run_shows_result_and_inputs_masked_and_is_not_live(client):
    page = client.get(f"/runs/{DONE}").text
    assert "data-live" not in page and "u-1" in page
    assert "s3cr3t-token-value" not in page and "hunter2-input" not in page and "••••••" in page


def test_an_unknown_run_is_a_404(client):
    assert client.get("/runs/01a241ff-dead-7000-8000-000000000000").status_code == 404


def test_the_daemon_being_down_is_a_503_saying_so(client, gateway):
    gateway.down = True
    page = client.get("/runs")
    assert page.status_code == 503 and "no sagaline daemon is running" in page.text


def test_every_response_carries_the_security_headers_and_a_strict_session_cookie(client):
    page = client.get("/runs")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]


def test_a_request_by_a_dns_name_other_than_localhost_is_refused(client):
    assert client.get("/runs", headers={"Host": "evil.example:7721"}).status_code == 421
    assert client.get("/runs", headers={"Host": "localhost:7721"}).status_code == 200


def test_an_action_without_confirmation_asks_first_and_changes_nothing(client, gateway):
    page = _post(client, f"/runs/{CID}/cancel", {})
    assert page.status_code == 200 and "Yes, cancel" in page.text and gateway.calls == []


def test_a_confirmed_cancel_is_sent_and_its_answer_shown(client, gateway):
    answer = _post(client, f"/runs/{CID}/cancel", {"confirmed": "yes"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/runs/{CID}"
    assert gateway.calls[0][0] == "cancel"
    assert "Cancel accepted: the run is draining." in client.get(f"/runs/{CID}").text


def test_a_resume_links_its_successor(client, gateway):
    _post(client, f"/runs/{DONE}/resume", {"confirmed": "yes"})
    assert 'href="/runs/01a241ff-0000-7000-8000-000000000002"' in client.get(f"/runs/{DONE}").text


@pytest.mark.parametrize("origin", ["http://evil.example", None])
def test_a_post_from_another_origin_or_none_is_refused(client, gateway, origin):
    answer = _post(client, f"/runs/{CID}/cancel", {"confirmed": "yes"}, origin=origin)
    assert answer.status_code == 403 and gateway.calls == []


def test_a_post_without_the_sessions_token_is_refused(client, gateway):
    client.get("/runs")
    answer = client.post(f"/runs/{CID}/cancel", data={"confirmed": "yes", "token": "0" * 64}, headers={"Origin": BASE})
    assert answer.status_code == 403 and "token" in answer.text and gateway.calls == []


def test_a_post_from_a_fresh_session_is_refused(gateway, tmp_path):
    app = create_app(WebSettings(), gateway=gateway, telemetry_dir=tmp_path)
    with TestClient(app, base_url=BASE) as first, TestClient(app, base_url=BASE) as second:
        token = _token(first.get("/runs").text)
        answer = second.post(f"/runs/{CID}/cancel", data={"confirmed": "yes", "token": token}, headers={"Origin": BASE})
    assert answer.status_code == 403 and gateway.calls == []


def test_an_unknown_action_is_a_404(client):
    assert _post(client, f"/runs/{CID}/delete", {"confirmed": "yes"}).status_code == 404


def test_the_start_form_converts_inputs_by_their_schema_and_starts_a_run(client, gateway):
    answer = _post(client, "/sagas/onboard/start", {"email": "ada@example.com", "max_trials": "4", "api_password": ""})
    assert answer.status_code == 303 and answer.headers["location"] == "/runs"
    assert gateway.calls == [("start", ("onboard", {"email": "ada@example.com", "max_trials": 4}), {})]
    assert "Started run 01a241ff-0000-7000-8000-000000000001 of onboard." in client.get("/runs").text


def test_inputs_that_do_not_fit_are_shown_again_with_the_problem_and_nothing_starts(client, gateway):
    answer = _post(client, "/sagas/onboard/start", {"email": "ada@example.com", "max_trials": "none"})
    assert answer.status_code == 422 and "expected integer &gt;= 1, got &#39;none&#39;" in answer.text
    assert 'value="none"' in answer.text and gateway.calls == []


def test_a_refusal_by_the_daemon_is_shown_on_the_form(client):
    answer = _post(client, "/sagas/onboard/start", {"email": "refused@example.com"})
    assert answer.status_code == 422 and "email: taken" in answer.text


def test_an_ended_runs_live_stream_sends_its_parts_then_ends(client):
    with client.stream("GET", f"/live/runs/{DONE}") as stream:
        body = "".join(stream.iter_text())
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert '"run-live"' in body and body.rstrip().endswith("event: end\ndata: {}")


def test_the_tree_page_marks_a_journal_that_cannot_be_written_and_says_why(client, monkeypatch):
    from tests.web import samples

    assert "s-unwritable" not in client.get("/tree").text
    monkeypatch.setitem(samples.HEALTH, "status", "degraded")
    monkeypatch.setitem(samples.HEALTH, "problems", ["storage: host 0: disk full: /srv/data has 0 bytes free"])
    monkeypatch.setitem(samples.HEALTH, "storage", {"ok": False, "reason": "host 0: disk full", "hosts": []})
    page = client.get("/tree").text
    assert '<span class="status s-unwritable">unwritable</span>' in page
    assert "<li>storage: host 0: disk full: /srv/data has 0 bytes free</li>" in page
