"""The start form, the console's request guards, secret masking and its settings."""

import pytest
from pydantic import ValidationError

from sagaline.daemon.config import load_config
from sagaline.web.forms import form_fields, parse_form
from sagaline.web.guard import form_token, host_ok, new_secret, new_session, origin_ok, token_ok
from sagaline.web.redact import MASK, redact
from sagaline.web.settings import WebSettings
from tests.web.samples import CATALOG

INPUTS = CATALOG["sagas"][0]["inputs"] + [
    {"name": "mode", "type": "enum", "required": False, "default": "a", "schema": {"enum": ["a", "b"]}},
    {"name": "pinned", "type": "boolean", "required": False, "default": False, "schema": {"type": "boolean"}},
    {"name": "space", "type": "object", "required": False, "default": {}, "schema": {"type": "object"}},
]


def test_each_input_gets_a_field_fitting_its_type_with_the_default_as_placeholder():
    fields = {f.name: f for f in form_fields(INPUTS)}
    assert (fields["email"].widget, fields["email"].required, fields["email"].placeholder) == ("text", True, "")
    assert (fields["max_trials"].placeholder, fields["max_trials"].type_label) == ("3", "integer >= 1")
    assert (fields["mode"].widget, fields["mode"].choices) == ("select", ("a", "b"))
    assert (fields["pinned"].widget, fields["pinned"].choices) == ("select", ("true", "false"))
    assert fields["space"].widget == "textarea"


def test_posted_text_is_converted_by_the_schema_and_empty_optionals_are_left_out():
    values, problems = parse_form(
        INPUTS,
        {
            "email": " ada@example.com ",
            "max_trials": "4",
            "pinned": "true",
            "space": '{"epochs": [2]}',
            "mode": "",
            "token": "x",
        },
    )
    assert problems == {}
    assert values == {"email": "ada@example.com", "max_trials": 4, "pinned": True, "space": {"epochs": [2]}}


def test_inputs_that_do_not_fit_are_named_and_a_missing_required_one_too():
    _values, problems = parse_form(INPUTS, {"max_trials": "0", "space": "[1]"})
    assert problems == {
        "email": "required",
        "max_trials": "expected integer >= 1, got '0'",
        "space": "expected object, got '[1]'",
    }


def test_a_form_token_belongs_to_one_session_and_one_console():
    key, session = new_secret(), new_session()
    token = form_token(key, session)
    assert token_ok(key, session, token)
    assert not token_ok(key, new_session(), token)
    assert not token_ok(new_secret(), session, token)
    assert not token_ok(key, session, None) and not token_ok(key, None, token)


@pytest.mark.parametrize(
    "host, ok",
    [
        ("127.0.0.1:7721", True),
        ("localhost:7721", True),
        ("[::1]:7721", True),
        ("10.0.0.5:7721", True),
        ("127.0.0.1:80", False),
        ("evil.example:7721", False),
        ("127.0.0.1.nip.io:7721", False),
        ("", False),
        (None, False),
    ],
)
def test_only_ip_literals_and_localhost_on_the_consoles_port_are_served(host, ok):
    assert host_ok(host, 7721) is ok


@pytest.mark.parametrize(
    "origin, referer, ok",
    [
        ("http://127.0.0.1:7721", None, True),
        (None, "http://127.0.0.1:7721/runs/x", True),
        ("http://evil.example", None, False),
        ("null", None, False),
        (None, None, False),
        ("https://127.0.0.1:7721", None, False),
        (None, "http://evil.example/runs", False),
        ("http://127.0.0.1:7721", "http://evil.example/", True),
    ],
)
def test_a_post_must_come_from_the_consoles_own_origin(origin, referer, ok):
    assert origin_ok(origin, referer, "127.0.0.1:7721") is ok


def test_secret_named_values_are_masked_at_any_depth_and_the_rest_is_kept():
    data = {
        "email": "a@b",
        "smtp": {"password": "hunter2", "host": "mx"},
        "items": [{"apiKey": "k"}],
        "reset_token": None,
        "authorization": "Bearer x",
    }
    assert redact(data) == {
        "email": "a@b",
        "smtp": {"password": MASK, "host": "mx"},
        "items": [{"apiKey": MASK}],
        "reset_token": None,
        "authorization": MASK,
    }


def test_the_console_listens_on_loopback_unless_remote_is_allowed():
    assert WebSettings().host == "127.0.0.1" and WebSettings().port == 7721
    with pytest.raises(ValidationError, match="not a loopback address"):
        WebSettings(host="0.0.0.0")
    assert WebSettings(host="0.0.0.0", allow_remote=True).url(8000) == "http://127.0.0.1:8000/"
    with pytest.raises(ValidationError):
        WebSettings(host="example.com")


def test_the_daemon_config_has_a_web_section_with_env_overrides():
    config = load_config(environ={"SAGALINE_WEB": "true", "SAGALINE_WEB_PORT": "0"})
    assert (config.web.enabled, config.web.port, config.web.host) == (True, 0, "127.0.0.1")
    assert load_config(environ={}).web.enabled is False


def test_a_remote_web_host_in_the_daemon_config_needs_allow_remote(tmp_path):
    from sagaline.daemon.config import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[web]\nenabled = true\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match=r"web\.host"):
        load_config(environ={}, config_file=path)
    path.write_text('[web]\nenabled = true\nhost = "0.0.0.0"\nallow_remote = true\n')
    assert load_config(environ={}, config_file=path).web.allow_remote
