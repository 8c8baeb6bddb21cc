"""The CLI's words: every daemon command builds its admin request; inputs; local commands."""

from __future__ import annotations

import io
from typing import ClassVar

import pytest

from sagaline.cli.commands import ADMIN_COMMANDS, parse_inputs
from sagaline.cli.commands import execute as _execute
from sagaline.cli.main import build_parser, main
from sagaline.cli.output import Output
from sagaline.messages import admin as a


def execute(command, args, client, out, err):
    return _execute(command, args, client, Output(out, err, json=args.json))


CID = "01a21fb3-6e64-70d5-8287-d58af4977855"

CASES = [
    ("sagas list", a.AdminListRuns()),
    (
        "sagas list --status running --status stuck,failed --saga s --limit 5 --offset 10 --id 01A2",
        a.AdminListRuns(status=["running", "stuck", "failed"], saga="s", limit=5, offset=10, id_prefix="01a2"),
    ),
    (
        "sagas list --since 2026-12-04T16:00:00Z --until 2026-12-05",
        a.AdminListRuns(started_after=1796400000.0, started_before=1796428800.0),
    ),
    ("sagas catalog", a.AdminCatalog()),
    (
        "sagas start user_provisioning email=ada@example.com n:=3 tags:='[\"x\"]'",
        a.AdminStartSaga(saga="user_provisioning", inputs={"email": "ada@example.com", "n": 3, "tags": ["x"]}),
    ),
    (
        f"sagas start s --id {CID} --wait --timeout 9",
        a.AdminStartSaga(saga="s", correlation_id=CID, wait=True, timeout_s=9),
    ),
    (f"sagas start s --causation-id {CID}", a.AdminStartSaga(saga="s", causation_id=CID)),
    (f"sagas show {CID}", a.AdminShowRun(correlation_id=CID)),
    (f"sagas wait {CID} --timeout 3", a.AdminWaitRun(correlation_id=CID, timeout_s=3)),
    (f"sagas cancel {CID} --reason because", a.AdminCancelRun(correlation_id=CID, reason="because")),
    (f"sagas retry {CID} --step a --step b", a.AdminRetryCompensation(correlation_id=CID, steps=["a", "b"])),
    (f"sagas resume {CID} --from create_user", a.AdminResumeRun(correlation_id=CID, from_step="create_user")),
    ("tree --depth 2", a.AdminTree(max_depth=2)),
    ("registry lookup domain:gate", a.AdminRegistryLookup(key="domain:gate")),
    ("registry list --prefix saga:", a.AdminRegistrySelect(prefix="saga:")),
    (
        f"events tail --limit 3 --prefix user. --cid {CID}",
        a.AdminTailEvents(limit=3, name_prefix="user.", correlation_id=CID),
    ),
    (
        "app run list_decisions effect=deny --app thunderline",
        a.AdminAppCommand(command="list_decisions", app="thunderline", args={"effect": "deny"}),
    ),
    ("health --json", a.AdminHealth()),
]


@pytest.mark.parametrize("line, request_", CASES, ids=[c[0].split(" -")[0] for c in CASES])
def test_each_daemon_command_builds_its_admin_request(line, request_):
    import shlex

    args = build_parser().parse_args(shlex.split(line))
    assert args.spec.build(args) == request_


def test_every_admin_request_has_a_command():
    built = {type(c.build(build_parser().parse_args(list(c.words) + _required(c.words)))) for c in ADMIN_COMMANDS}
    assert all(c.words for c in ADMIN_COMMANDS)
    assert built == set(a.admin_requests().values())


def _required(words: tuple[str, ...]) -> list[str]:
    return {("sagas", "start"): ["s"], ("registry", "lookup"): ["k"], ("app", "run"): ["c"]}.get(
        words, [CID] if words[0] == "sagas" and words[1] not in ("list", "catalog") else []
    )


@pytest.mark.parametrize(
    "pairs, inputs",
    [
        (["email=ada@example.com"], {"email": "ada@example.com"}),
        (["n=3", "m:=3"], {"n": "3", "m": 3}),
        (["x=a=b"], {"x": "a=b"}),
        (['o:={"k": [1, true, null]}'], {"o": {"k": [1, True, None]}}),
        ([], {}),
    ],
)
def test_saga_inputs_are_strings_unless_given_as_json(pairs, inputs):
    assert parse_inputs(pairs) == inputs


@pytest.mark.parametrize("pair", ["email", "=x", ":=1", "n:=nope"])
def test_a_malformed_saga_input_is_a_usage_error(pair):
    with pytest.raises(ValueError):
        parse_inputs([pair])


class NeverAsked:
    def request(self, request):
        raise AssertionError("a bad command must not reach the daemon")


def test_a_bad_command_is_refused_before_anything_is_sent():
    args = build_parser().parse_args(["sagas", "start", "s", "email"])
    err = io.StringIO()
    assert execute(args.spec, args, NeverAsked(), io.StringIO(), err) == 2
    assert "key=value" in err.getvalue()
    args = build_parser().parse_args(["sagas", "list", "--limit", "0"])
    assert execute(args.spec, args, NeverAsked(), io.StringIO(), err) == 2
    assert "error (invalid): limit:" in err.getvalue()


class Answering:
    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def list(self, **query):
        from sagaline.client.results import RunList

        return RunList(runs=[], total=0)

    def request(self, request):
        self.asked.append(request)
        return self.answer


@pytest.mark.parametrize(
    "answer, words, status, said",
    [
        (a.AdminResult(request="AdminHealth", data={"ok": 1}), ["health", "--json"], 0, None),
        (a.AdminError(code="not_found", message="no run"), ["health"], 9, "error (not_found): no run"),
        (
            a.AdminError(code="refused", message="too many", details={"code": "max_children"}),
            ["health"],
            8,
            "error (refused): too many [max_children]",
        ),
        (
            a.AdminError(code="refused", message="bad email", details={"code": "invalid_input"}),
            ["health"],
            2,
            "error (refused): bad email [invalid_input]",
        ),
        (a.AdminError(code="timeout", message="waited 1 s"), ["health"], 4, "error (timeout): waited 1 s"),
        (a.AdminError(code="busy", message="all busy"), ["health"], 1, "error (busy): all busy"),
        (a.AdminError(code="internal", message="oops"), ["health"], 1, "error (internal): oops"),
        (
            a.AdminResult(request="AdminWaitRun", data={"correlation_id": CID, "saga": "s", "status": "failed"}),
            ["sagas", "wait", CID],
            5,
            None,
        ),
        (
            a.AdminResult(
                request="AdminCancelRun", data={"correlation_id": CID, "accepted": False, "status": "completed"}
            ),
            ["sagas", "cancel", CID],
            8,
            f"error (refused): run {CID} is not running (it is completed); nothing to cancel",
        ),
        (
            a.AdminResult(
                request="AdminResumeRun",
                data={
                    "correlation_id": CID,
                    "accepted": False,
                    "status": "completed",
                    "message": "a completed run cannot be resumed",
                },
            ),
            ["sagas", "resume", CID],
            8,
            f"error (refused): run {CID} (completed): a completed run cannot be resumed",
        ),
        (
            a.AdminResult(
                request="AdminRetryCompensation",
                data={"correlation_id": CID, "accepted": True, "status": "rolling_back", "message": "ok"},
            ),
            ["sagas", "retry", CID],
            0,
            None,
        ),
    ],
)
def test_exit_status_says_how_it_went_and_errors_are_one_line_on_stderr(answer, words, status, said):
    args = build_parser().parse_args(words)
    out, err = io.StringIO(), io.StringIO()
    assert execute(args.spec, args, Answering(answer), out, err) == status
    if args.json:
        assert out.getvalue().strip() == '{\n  "ok": 1\n}'
    assert err.getvalue().strip() == (said or "")
    if said:
        assert not out.getvalue()


def test_with_json_an_error_is_also_one_json_document_on_stdout():
    args = build_parser().parse_args(["sagas", "show", CID, "--json"])
    out, err = io.StringIO(), io.StringIO()
    assert execute(args.spec, args, Answering(a.AdminError(code="not_found", message="no run")), out, err) == 9
    import json

    assert json.loads(out.getvalue()) == {
        "error": {"code": "not_found", "message": "no run", "details": {}, "exit_code": 9}
    }


def test_json_times_are_iso_8601_utc_everywhere():
    import json

    data = {
        "correlation_id": CID,
        "saga": "s",
        "status": "completed",
        "started_at": 1796402530.25,
        "finished_at": None,
        "steps": [{"name": "a", "started_at": 1796402530.5}],
        "result": {"created_at": "2026-12-04T17:42:10.123456+01:00"},
    }
    args = build_parser().parse_args(["sagas", "show", CID, "--json"])
    out = io.StringIO()
    execute(args.spec, args, Answering(a.AdminResult(request="AdminShowRun", data=data)), out, io.StringIO())
    shown = json.loads(out.getvalue())
    assert shown["started_at"] == "2026-12-04T16:42:10.250000Z" and shown["finished_at"] is None
    assert shown["steps"][0]["started_at"] == "2026-12-04T16:42:10.500000Z"
    assert shown["result"]["created_at"] == "2026-12-04T16:42:10.123456Z"


class Runs:
    """A daemon with some runs: answers the list by id prefix, and records what it was asked."""

    def __init__(self, *ids):
        self.ids, self.asked = ids, []

    def list(self, **query):
        from sagaline.client.results import RunList

        rows = [
            {"correlation_id": i, "saga": "s", "status": "running", "started_at": 1.0}
            for i in self.ids
            if i.startswith(query.get("id_prefix") or "")
        ]
        return RunList.from_data({"runs": rows[: query.get("limit", 50)], "total": len(rows), "offset": 0})

    def resolve(self, prefix):
        from sagaline.client import Client

        return Client.resolve(self, prefix)

    def request(self, request):
        self.asked.append(request)
        return a.AdminResult(
            request=type(request).__name__,
            data={
                "correlation_id": request.correlation_id,
                "saga": "s",
                "accepted": True,
                "status": "completed",
                "events": [],
                "decisions": [],
            },
        )


OTHER = "01a21fb3-7777-70d5-8287-d58af4977855"


@pytest.mark.parametrize(
    "words, attribute",
    [
        (["sagas", "cancel", "01a21fb3-6e"], "correlation_id"),
        (["sagas", "wait", "01A21FB3-6E"], "correlation_id"),
        (["sagas", "retry", "01a21fb3-6e"], "correlation_id"),
        (["sagas", "resume", "01a21fb3-6e"], "correlation_id"),
        (["events", "tail", "--cid", "01a21fb3-6e"], "correlation_id"),
        (["sagas", "show", CID.upper()], "correlation_id"),
    ],
)
def test_an_unambiguous_run_id_prefix_works_wherever_a_run_id_is_taken(words, attribute):
    daemon = Runs(CID, OTHER)
    args = build_parser().parse_args(words)
    execute(args.spec, args, daemon, io.StringIO(), io.StringIO())
    assert getattr(daemon.asked[-1], attribute) == CID


def test_an_ambiguous_prefix_is_refused_listing_the_candidates_and_an_unknown_one_is_not_found():
    from sagaline.cli.commands import report
    from sagaline.client import ClientError

    for prefix, status, said in (
        (
            "01a21fb3",
            2,
            f"error (ambiguous): run id prefix '01a21fb3' is ambiguous: 2 runs "
            f"match: {CID} (s, running); {OTHER} (s, running)",
        ),
        ("ff", 9, "error (not_found): no run whose id starts with 'ff'"),
    ):
        args = build_parser().parse_args(["sagas", "show", prefix])
        err = io.StringIO()
        with pytest.raises(ClientError) as caught:
            execute(args.spec, args, Runs(CID, OTHER), io.StringIO(), err)
        assert report(Output(io.StringIO(), err), caught.value) == status
        assert err.getvalue().strip() == said


@pytest.mark.parametrize(
    "words, text",
    [
        (
            ["sagas", "list", "--status", "bogus"],
            "argument --status: unknown status 'bogus' (known: running, draining,",
        ),
        (["sagas", "list", "--since", "yesterday"], "argument --since: 'yesterday' is no time"),
    ],
)
def test_list_filters_are_validated_before_anything_is_sent(words, text, capsys):
    assert main(words) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error (usage): sagaline sagas list: ") and text in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "live, ready, flags, status",
    [
        (True, True, ["--exit-code"], 0),
        (True, False, ["--exit-code"], 6),
        (False, False, ["--exit-code"], 7),
        (True, False, ["--exit-code", "--live"], 0),
        (False, False, ["--exit-code", "--live"], 7),
        (False, False, [], 0),
    ],
)
def test_health_exit_code_answers_readiness_or_with_live_liveness(live, ready, flags, status):
    data = {"status": "x", "live": live, "ready": ready, "problems": [], "daemon": {}, "children": [], "registered": 1}
    args = build_parser().parse_args(["health", *flags])
    answer = a.AdminResult(request="AdminHealth", data=data)
    assert execute(args.spec, args, Answering(answer), io.StringIO(), io.StringIO()) == status


@pytest.mark.parametrize(
    "live, storage_ok, flags, status",
    [
        (True, False, ["--exit-code"], 10),
        (True, False, ["--exit-code", "--live"], 0),
        (False, False, ["--exit-code"], 7),
        (True, True, ["--exit-code"], 6),
    ],
)
def test_health_exit_code_is_10_when_a_live_daemon_cannot_write_its_journal(live, storage_ok, flags, status):
    data = {
        "status": "degraded",
        "live": live,
        "ready": False,
        "problems": [],
        "daemon": {},
        "children": [],
        "registered": 1,
        "storage": {"ok": storage_ok, "reason": None if storage_ok else "host 0: disk full", "hosts": []},
    }
    args = build_parser().parse_args(["health", *flags])
    answer = a.AdminResult(request="AdminHealth", data=data)
    assert execute(args.spec, args, Answering(answer), io.StringIO(), io.StringIO()) == status


def test_a_json_input_nested_beyond_the_parsers_limit_is_a_usage_error():
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_inputs(["x:=" + "[" * 5000 + "]" * 5000])


def test_graph_draws_the_plan_as_layers_in_text_without_a_daemon(capsys):
    assert main(["graph", "user_provisioning"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("user_provisioning v1: onboard a user") and lines[1].startswith("inputs: email")
    layer = next(i for i, line in enumerate(lines) if line.lstrip().startswith("5  provision_vault ~"))
    assert lines[layer + 1].split()[:2] == ["create_default_community", "~"]  # one layer: they run at once
    assert "<- create_user" in lines[layer] and lines[-1].startswith("~ undone when the run rolls back")


def test_graph_keeps_mermaid_for_those_who_want_it(capsys):
    assert main(["graph", "user_provisioning", "--mermaid"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart TD") and "provision_vault" in text


def test_graph_of_an_unknown_saga_is_not_found_and_names_the_known_ones(capsys):
    assert main(["graph", "nope"]) == 9
    assert "error (not_found): no saga named 'nope'" in capsys.readouterr().err


def test_version_prints_the_version(capsys):
    import sagaline

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"sagaline {sagaline.__version__}")


def test_the_demo_still_runs(capsys):
    assert main(["demo"]) == 0
    assert capsys.readouterr().out


def test_no_command_is_a_usage_error_of_one_line(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error (usage): the following arguments are required: COMMAND")


def test_a_bad_daemon_flag_is_one_config_error_line_and_status_2(capsys):
    assert main(["run", "--admin-port", "70000", "--data-dir", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "admin_port" in err[0] and "flag --admin-port" in err[0]


class Catalog:
    """A daemon that knows one saga and one app command, and records what it was sent."""

    SAGA: ClassVar[dict] = {
        "name": "nas",
        "app": "lab",
        "version": 1,
        "description": "",
        "steps": ["a"],
        "inputs": [
            {
                "name": "dataset_id",
                "type": "string",
                "required": True,
                "default": None,
                "description": "",
                "schema": {"type": "string"},
            },
            {
                "name": "max_trials",
                "type": "integer >= 1",
                "required": False,
                "default": 3,
                "description": "",
                "schema": {"type": "integer", "minimum": 1},
            },
        ],
    }
    COMMAND: ClassVar[dict] = {
        "name": "record",
        "app": "lab",
        "domain": "bolt",
        "help": "",
        "args": [
            {
                "name": "score",
                "type": "number",
                "required": True,
                "default": None,
                "description": "",
                "schema": {"type": "number"},
            }
        ],
    }

    def __init__(self):
        self.asked = []

    def request(self, request):
        self.asked.append(request)
        if isinstance(request, a.AdminCatalog):
            sagas = [self.SAGA] if request.saga in (None, "nas") else []
            return a.AdminResult(request="AdminCatalog", data={"apps": [], "sagas": sagas, "commands": [self.COMMAND]})
        return a.AdminResult(
            request=type(request).__name__,
            data={
                "correlation_id": CID,
                "saga": "nas",
                "existing": False,
                "app": "lab",
                "command": "record",
                "domain": "bolt",
                "reply": {"ok": True},
            },
        )


def test_sagas_start_converts_text_inputs_by_the_sagas_schema_and_keeps_json_ones():
    daemon = Catalog()
    args = build_parser().parse_args(["sagas", "start", "nas", "dataset_id=digits", "max_trials=2", "extra:=[1]"])
    assert execute(args.spec, args, daemon, io.StringIO(), io.StringIO()) == 0
    catalog, start = daemon.asked
    assert (catalog.saga, start.inputs) == ("nas", {"dataset_id": "digits", "max_trials": 2, "extra": [1]})


def test_a_value_that_does_not_fit_the_schema_is_refused_naming_field_and_type_before_the_start_is_sent():
    daemon, err = Catalog(), io.StringIO()
    args = build_parser().parse_args(["sagas", "start", "nas", "dataset_id=digits", "max_trials=0"])
    assert execute(args.spec, args, daemon, io.StringIO(), err) == 2
    assert err.getvalue().strip() == "error (invalid): max_trials: expected integer >= 1, got '0'"
    assert [type(r) for r in daemon.asked] == [a.AdminCatalog]


def test_an_unknown_saga_is_started_with_text_inputs_and_the_daemon_refuses_it():
    daemon = Catalog()
    args = build_parser().parse_args(["sagas", "start", "other", "n=3"])
    execute(args.spec, args, daemon, io.StringIO(), io.StringIO())
    assert daemon.asked[-1].inputs == {"n": "3"}


def test_app_run_converts_arguments_by_the_commands_schema_and_shows_the_reply():
    daemon, out = Catalog(), io.StringIO()
    args = build_parser().parse_args(["app", "run", "record", "score=0.25"])
    assert execute(args.spec, args, daemon, out, io.StringIO()) == 0
    assert (daemon.asked[-1].command, daemon.asked[-1].args) == ("record", {"score": 0.25})
    assert out.getvalue().strip() == "ok  true"


def test_app_list_shows_the_commands_and_one_commands_arguments():
    daemon = Catalog()
    for words, expected in ((["app", "list"], "record"), (["app", "list", "record"], "score     number")):
        out = io.StringIO()
        args = build_parser().parse_args(words)
        assert execute(args.spec, args, daemon, out, io.StringIO()) == 0
        assert expected in out.getvalue()


def test_sagas_catalog_with_a_name_shows_its_typed_inputs():
    out = io.StringIO()
    args = build_parser().parse_args(["sagas", "catalog", "nas"])
    assert execute(args.spec, args, Catalog(), out, io.StringIO()) == 0
    assert "max_trials  integer >= 1  no        3" in out.getvalue()


def test_app_list_of_an_unknown_command_is_not_found():
    from sagaline.client import NotFound

    args = build_parser().parse_args(["app", "list", "nosuch"])
    with pytest.raises(NotFound, match="no app command named 'nosuch' \\(known: record\\)"):
        execute(args.spec, args, Catalog(), io.StringIO(), io.StringIO())


def test_show_takes_the_lineage_from_the_run_summary_when_the_daemons_record_lacks_it():
    from sagaline.client.results import RunList

    successor = "01a21fb4-0000-7000-8000-000000000001"

    class Daemon(Answering):
        def list(self, **query):
            assert query == {"id_prefix": CID, "limit": 1}
            return RunList(
                runs=[
                    {"correlation_id": CID, "saga": "s", "status": "failed", "started_at": 1.0, "successor": successor}
                ],
                total=1,
            )

    record = {"correlation_id": CID, "saga": "s", "status": "failed", "started_at": 1.0, "steps": []}
    args = build_parser().parse_args(["sagas", "show", CID])
    out = io.StringIO()
    assert execute(args.spec, args, Daemon(a.AdminResult(request="AdminShowRun", data=record)), out, io.StringIO()) == 0
    assert f"resumed by  {successor}" in out.getvalue()
