"""Per-process setup: configuration from the environment, once per process, again after a fork."""

import json
import os
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagaline.telemetry import names as tn
from sagaline.telemetry import setup
from sagaline.telemetry.core import telemetry
from sagaline.telemetry.otel import HANDLER_PREFIX
from sagaline.telemetry.setup import TelemetryConfigError, config_from_env
from sagaline.telemetry.timeline import read_records

CID = "0190f3a2-7c1d-7e4f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def clean_process(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SAGALINE_TELEMETRY") or name in ("SAGALINE_DATA_DIR", "SAGALINE_OTLP_ENDPOINT"):
            monkeypatch.delenv(name)
    setup.reset()
    yield
    setup.reset()


def run_events() -> None:
    meta = {"saga": "s", "correlation_id": CID}
    telemetry.execute(tn.SAGA_START, {"system_time": 1}, meta)
    telemetry.execute(tn.SAGA_COMPLETE, {"duration": 1}, {**meta, "status": "completed"})


class TestConfiguration:
    def test_with_no_variables_telemetry_is_off(self):
        assert config_from_env({}).exporter == "none" and not config_from_env({}).enabled

    def test_a_data_dir_makes_jsonl_under_it_the_default(self):
        config = config_from_env({"SAGALINE_DATA_DIR": "/srv/sagaline"})
        assert config.exporter == "jsonl" and config.directory == Path("/srv/sagaline/telemetry")
        assert config.signals == ("traces", "metrics") and config.service == "sagaline"

    def test_an_explicit_directory_wins_over_the_data_dir(self):
        config = config_from_env({"SAGALINE_DATA_DIR": "/a", "SAGALINE_TELEMETRY_DIR": "/b"})
        assert config.directory == Path("/b")

    def test_every_variable_is_read(self):
        config = config_from_env(
            {
                "SAGALINE_TELEMETRY_EXPORTER": "OTLP",
                "SAGALINE_OTLP_ENDPOINT": "http://h:4318",
                "SAGALINE_TELEMETRY_SIGNALS": "traces",
                "SAGALINE_TELEMETRY_SERVICE": "daemon-1",
                "SAGALINE_TELEMETRY_BATCH": "10",
                "SAGALINE_TELEMETRY_METRIC_INTERVAL": "2.5",
            }
        )
        assert (
            config.exporter,
            config.otlp_endpoint,
            config.signals,
            config.service,
            config.batch_size,
            config.metric_interval_s,
        ) == ("otlp", "http://h:4318", ("traces",), "daemon-1", 10, 2.5)

    def test_none_turns_it_off_even_with_a_data_dir(self):
        assert not config_from_env({"SAGALINE_DATA_DIR": "/a", "SAGALINE_TELEMETRY_EXPORTER": "none"}).enabled

    @pytest.mark.parametrize(
        "env, named",
        [
            ({"SAGALINE_TELEMETRY_EXPORTER": "zipkin"}, "SAGALINE_TELEMETRY_EXPORTER"),
            ({"SAGALINE_TELEMETRY_EXPORTER": "jsonl"}, "SAGALINE_TELEMETRY_DIR"),
            ({"SAGALINE_TELEMETRY_SIGNALS": "logs"}, "SAGALINE_TELEMETRY_SIGNALS"),
            ({"SAGALINE_TELEMETRY_BATCH": "many"}, "SAGALINE_TELEMETRY_BATCH"),
            ({"SAGALINE_TELEMETRY_METRIC_INTERVAL": "-1"}, "SAGALINE_TELEMETRY_METRIC_INTERVAL"),
        ],
    )
    def test_a_bad_value_is_refused_naming_its_variable(self, env, named):
        with pytest.raises(TelemetryConfigError, match=named):
            config_from_env(env)


class TestProcessLife:
    def test_ensure_sets_the_process_up_once_and_attaches_the_bridges(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SAGALINE_TELEMETRY_DIR", str(tmp_path))
        first = setup.ensure()
        assert first is not None and setup.ensure() is first and setup.current() is first
        assert any(h.startswith(HANDLER_PREFIX + "spans") for h in telemetry.handlers())
        assert any(h.startswith(HANDLER_PREFIX + "metrics") for h in telemetry.handlers())

    def test_a_misconfigured_process_runs_without_telemetry_and_says_why(self, monkeypatch, caplog):
        monkeypatch.setenv("SAGALINE_TELEMETRY_EXPORTER", "zipkin")
        assert setup.ensure() is None
        assert "telemetry disabled" in caplog.text
        assert not any(h.startswith(HANDLER_PREFIX) for h in telemetry.handlers())

    def test_the_last_actor_of_a_process_to_exit_flushes_its_metrics(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SAGALINE_TELEMETRY_DIR", str(tmp_path))
        first, second = object(), object()
        setup.actor_started(first)
        setup.actor_started(second)
        run_events()
        setup.actor_exiting(first)
        assert list(read_records(tmp_path, "metrics")) == []
        setup.actor_exiting(second)
        names = {r["name"] for r in read_records(tmp_path, "metrics")}
        assert "sagaline.saga.runs.completed" in names

    def test_an_actor_that_never_started_here_flushes_nothing(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SAGALINE_TELEMETRY_DIR", str(tmp_path))
        setup.ensure()
        run_events()
        setup.actor_exiting(object())
        assert list(read_records(tmp_path, "metrics")) == []

    def test_install_replaces_the_environment_setup_and_shutdown_flushes(self, tmp_path):
        exporter = InMemorySpanExporter()
        setup.install(exporter, batch_size=100)
        run_events()
        assert len(exporter.get_finished_spans()) == 1  # flushed: no span left open
        setup.shutdown()
        assert not any(h.startswith(HANDLER_PREFIX) for h in telemetry.handlers())

    def test_a_forked_child_sets_itself_up_and_never_re_exports_what_its_parent_buffered(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SAGALINE_TELEMETRY_DIR", str(tmp_path))
        monkeypatch.setenv("SAGALINE_TELEMETRY_METRIC_INTERVAL", "3600")
        parent = setup.ensure()
        telemetry.execute(tn.SAGA_START, {}, {"saga": "parent", "correlation_id": CID})  # a metric, buffered
        report = tmp_path / "child.json"
        pid = os.fork()
        if pid == 0:
            try:
                inherited = setup.current()
                child = setup.ensure()
                telemetry.execute(tn.SAGA_START, {}, {"saga": "child", "correlation_id": CID})
                child.flush()
                report.write_text(
                    json.dumps(
                        {
                            "inherited": inherited is not None,
                            "new": child is not parent,
                            "handlers": len(telemetry.handlers()),
                        }
                    )
                )
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        seen = json.loads(report.read_text())
        assert seen == {"inherited": False, "new": True, "handlers": len(telemetry.handlers())}
        started = [
            (r["attributes"]["saga"], r["pid"])
            for r in read_records(tmp_path, "metrics")
            if r["name"] == "sagaline.saga.runs.started"
        ]
        assert started == [("child", pid)]  # the parent's point was not exported by the child
        parent.flush()
        started = [
            r["attributes"]["saga"]
            for r in read_records(tmp_path, "metrics")
            if r["name"] == "sagaline.saga.runs.started"
        ]
        assert sorted(started) == ["child", "parent"]
