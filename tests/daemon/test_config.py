"""The daemon's configuration: defaults, file < environment < flags, one clear error per bad config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagaline.apps import AppError
from sagaline.daemon.config import (
    DEFAULT_ADMIN_PORT,
    ConfigError,
    DaemonConfig,
    daemon_apps,
    load_config,
    telemetry_environment,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sagaline.toml"
    path.write_text(text)
    return path


def test_with_no_config_at_all_the_embedded_defaults_apply():
    config = load_config(environ={})
    assert config == DaemonConfig()
    assert (config.data_dir, config.base, config.bind_address, config.admin_port) == (
        Path("data"),
        "multiprocTCPBase",
        "127.0.0.1",
        DEFAULT_ADMIN_PORT,
    )
    assert (config.runs.hosts, config.storage.synchronous, config.allow_remote) == (None, "FULL", False)


def test_the_environment_beats_the_file_and_flags_beat_both(tmp_path):
    path = write(tmp_path, "admin_port = 1111\nlog_level = 'DEBUG'\n[runs]\nhosts = 1\nmax_runs = 9\n")
    env = {"SAGALINE_ADMIN_PORT": "2222", "SAGALINE_HOSTS": "2"}
    config = load_config({"admin_port": 3333}, environ=env, config_file=path)
    assert config.admin_port == 3333
    assert config.runs.hosts == 2 and config.runs.max_runs == 9
    assert config.log_level == "DEBUG"


def test_the_config_file_can_be_named_by_the_environment(tmp_path):
    path = write(tmp_path, "admin_port = 4444\n")
    assert load_config(environ={"SAGALINE_CONFIG": str(path)}).admin_port == 4444


def test_an_empty_environment_variable_counts_as_unset():
    assert load_config(environ={"SAGALINE_MAX_RUNS": "", "SAGALINE_ADMIN_PORT": ""}).runs.max_runs is None


@pytest.mark.parametrize(
    "env, field, words",
    [
        ({"SAGALINE_ADMIN_PORT": "70000"}, "admin_port", ["less than or equal to 65535", "SAGALINE_ADMIN_PORT"]),
        ({"SAGALINE_ADMIN_PORT": "seven"}, "admin_port", ["valid integer", "'seven'"]),
        ({"SAGALINE_HOSTS": "0"}, "runs.hosts", ["greater than or equal to 1"]),
        ({"SAGALINE_BASE": "multiprocQueueBase"}, "base", ["multiprocTCPBase"]),
        ({"SAGALINE_BIND_ADDRESS": "localhost"}, "bind_address", ["not an IPv4 address"]),
    ],
)
def test_a_bad_environment_value_is_one_error_naming_the_field_and_the_variable(env, field, words):
    with pytest.raises(ConfigError) as caught:
        load_config(environ=env)
    assert caught.value.field == field
    message = str(caught.value)
    assert message.startswith(f"config error: {field}: ") and "\n" not in message
    assert all(word in message for word in words)


def test_a_bad_flag_is_named_as_a_flag():
    with pytest.raises(ConfigError, match=r"admin_port: .*from flag --admin-port"):
        load_config({"admin_port": "x"}, environ={})


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("[runs]\nhosts = 2\nspeed = 3\n", "runs.speed", ["Extra inputs are not permitted"]),
        (
            "[[faults.block]]\ncommand = 'ProvisionVault'\naction = 'explode'\n",
            "faults.block.0.action",
            ["'fail', 'crash' or 'delay'"],
        ),
        ("[[faults.nowhere]]\ncommand = 'X'\n", "faults", ["unknown domain 'nowhere'"]),
        ("[domains.nowhere]\nx = 1\n", "domains", ["unknown domain 'nowhere'"]),
        ("shutdown_timeout_s = 0\n", "shutdown_timeout_s", ["greater than 0"]),
    ],
)
def test_a_bad_file_value_is_one_error_naming_the_field_and_the_file(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, config_file=path)
    assert caught.value.field == field
    assert all(word in str(caught.value) for word in words + [str(path)])


def test_a_file_that_is_not_toml_or_not_there_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(environ={}, config_file=write(tmp_path, "admin_port = \n"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(environ={}, config_file=tmp_path / "missing.toml")


def test_a_non_loopback_bind_address_is_refused_unless_remote_access_is_allowed():
    with pytest.raises(ConfigError) as caught:
        load_config({"bind_address": "0.0.0.0"}, environ={})
    assert caught.value.field == "bind_address"
    assert "read and replayed" in str(caught.value) and "--allow-remote" in str(caught.value)
    assert load_config({"bind_address": "0.0.0.0", "allow_remote": True}, environ={}).bind_address == "0.0.0.0"
    assert load_config({"bind_address": "127.0.0.2"}, environ={}).bind_address == "127.0.0.2"


def test_fault_rules_and_domain_settings_reach_the_model_validated(tmp_path):
    path = write(
        tmp_path,
        "[domains.flow]\nmode = 'raise'\n\n[[faults.block]]\ncommand = 'ProvisionVault'\n"
        "action = 'delay'\nseconds = 1.5\n",
    )
    config = load_config(environ={}, config_file=path)
    assert config.domains == {"flow": {"mode": "raise"}}
    [rule] = config.faults["block"]
    assert (rule.command, rule.action, rule.seconds) == ("ProvisionVault", "delay", 1.5)


def test_the_embedded_config_runs_the_thunderline_app_its_domains_after_the_event_bus():
    config = load_config(environ={})
    assert config.apps == ["thunderline.app:app"]
    domains = daemon_apps(config).domain_actors()
    assert list(domains) == ["flow", "gate", "block", "link", "crown", "bolt", "bridge"]


def test_apps_come_comma_separated_from_the_environment_and_a_flag_list_replaces_them(tmp_path):
    path = write(tmp_path, 'apps = ["a.b:app"]\n')
    assert load_config(environ={"SAGALINE_APPS": " x.y:app, z:app ,"}, config_file=path).apps == ["x.y:app", "z:app"]
    assert load_config({"apps": ["q:app"]}, environ={"SAGALINE_APPS": "x:app"}).apps == ["q:app"]
    assert load_config(environ={}, config_file=write(tmp_path, "apps = []\n")).apps == []


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[domains.gate]\nbase_url = 3\n", "domains.gate", ["base_url", "string"]),
        ("[domains.gate]\nbase_uri = 'x'\n", "domains.gate", ["unknown setting 'base_uri'", "known: base_url"]),
        ("[domains.bridge]\nmax_parallel = 'two'\n", "domains.bridge", ["max_parallel"]),
        ("[domains.flow]\nmode = 'loud'\n", "domains.flow", ["mode"]),
    ],
)
def test_a_domains_settings_are_checked_by_its_apps_settings_model(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, config_file=path)
    assert caught.value.field == field
    assert all(word in str(caught.value) for word in words + [str(path)])


def test_domain_tables_of_an_app_that_is_not_loaded_are_unknown_domains(tmp_path):
    path = write(tmp_path, "apps = []\n[domains.gate]\nbase_url = 'x'\n")
    with pytest.raises(ConfigError, match="unknown domain 'gate' \\(known: flow;"):
        load_config(environ={}, config_file=path)


def test_an_app_that_does_not_load_is_one_app_error_naming_it():
    config = load_config({"apps": ["no_such_package.app:app"]}, environ={})
    with pytest.raises(AppError, match="no_such_package"):
        daemon_apps(config)


def test_the_telemetry_section_becomes_environment_variables_that_the_environment_overrides():
    config = DaemonConfig(
        telemetry={"exporter": "jsonl", "batch": 4, "otlp_endpoint": "http://127.0.0.1:4318", "flag": True}
    )
    env = telemetry_environment(config, {"SAGALINE_TELEMETRY_BATCH": "9"})
    assert env == {
        "SAGALINE_TELEMETRY_EXPORTER": "jsonl",
        "SAGALINE_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "SAGALINE_TELEMETRY_FLAG": "true",
    }


def test_the_storage_url_and_leases_come_from_the_file_the_environment_or_the_flags(tmp_path):
    path = write(tmp_path, "[storage]\nurl = 'postgresql://app@db/one'\n[runs]\nlease_s = 4.0\n")
    assert (
        load_config(environ={}, config_file=path).storage.url,
        load_config(environ={}, config_file=path).runs.lease_s,
    ) == ("postgresql://app@db/one", 4.0)
    env = {"SAGALINE_STORAGE_URL": "postgresql://app@db/two", "SAGALINE_LEASE_S": "6"}
    config = load_config(environ=env, config_file=path)
    assert (config.storage.url, config.runs.lease_s) == ("postgresql://app@db/two", 6.0)
    assert load_config({"storage.url": "postgres://app@db/three"}, environ=env).storage.url == "postgres://app@db/three"
    assert load_config(environ={}).storage.url is None


def test_a_storage_url_that_is_not_a_postgres_database_is_one_error_naming_its_source():
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SAGALINE_STORAGE_URL": "sqlite:///x.db"})
    assert caught.value.field == "storage.url" and "SAGALINE_STORAGE_URL" in str(caught.value)
    assert "postgresql://" in str(caught.value)


def test_the_convention_heartbeat_comes_from_the_file_the_environment_or_the_flags_and_a_bad_one_names_its_source(
    tmp_path,
):
    path = write(tmp_path, "[cluster]\nheartbeat_s = 2.5\n")
    assert load_config(environ={}, config_file=path).cluster.heartbeat_s == 2.5
    assert load_config(environ={"SAGALINE_HEARTBEAT_S": "1"}, config_file=path).cluster.heartbeat_s == 1.0
    assert load_config({"cluster.heartbeat_s": "0.5"}, environ={"SAGALINE_HEARTBEAT_S": "1"}).cluster.heartbeat_s == 0.5
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SAGALINE_HEARTBEAT_S": "0"})
    assert caught.value.field == "cluster.heartbeat_s" and "SAGALINE_HEARTBEAT_S" in str(caught.value)
