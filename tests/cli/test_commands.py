"""The CLI's words: every daemon command builds its admin request; inputs; local commands."""

from __future__ import annotations

import io

import pytest

from sagaline.cli.commands import ADMIN_COMMANDS, execute, parse_inputs
from sagaline.cli.main import build_parser, main
from sagaline.messages import admin as a

CID = "01a21fb3-6e64-70d5-8287-d58af4977855"

CASES = [
    ("sagas list", a.AdminListRuns()),
    ("sagas list --status running --status stuck,failed --saga s --limit 5",
     a.AdminListRuns(status=["running", "stuck", "failed"], saga="s", limit=5)),
    ("sagas catalog", a.AdminCatalog()),
    ("sagas start user_provisioning email=ada@example.com n:=3 tags:='[\"x\"]'",
     a.AdminStartSaga(saga="user_provisioning", inputs={"email": "ada@example.com", "n": 3, "tags": ["x"]})),
    (f"sagas start s --id {CID} --wait --timeout 9", a.AdminStartSaga(saga="s", correlation_id=CID, wait=True,
                                                                       timeout_s=9)),
    (f"sagas start s --causation-id {CID}", a.AdminStartSaga(saga="s", causation_id=CID)),
    (f"sagas show {CID}", a.AdminShowRun(correlation_id=CID)),
    (f"sagas wait {CID} --timeout 3", a.AdminWaitRun(correlation_id=CID, timeout_s=3)),
    (f"sagas cancel {CID} --reason because", a.AdminCancelRun(correlation_id=CID, reason="because")),
    (f"sagas retry {CID} --step a --step b", a.AdminRetryCompensation(correlation_id=CID, steps=["a", "b"])),
    (f"sagas resume {CID} --from create_user", a.AdminResumeRun(correlation_id=CID, from_step="create_user")),
    ("tree --depth 2", a.AdminTree(max_depth=2)),
    ("registry lookup domain:gate", a.AdminRegistryLookup(key="domain:gate")),
    ("registry list --prefix saga:", a.AdminRegistrySelect(prefix="saga:")),
    (f"events tail --limit 3 --prefix user. --cid {CID}",
     a.AdminTailEvents(limit=3, name_prefix="user.", correlation_id=CID)),
    ("policy decisions --effect deny", a.AdminPolicyDecisions(effect="deny")),
    ("nas runs --state running", a.AdminNasRuns(state="running")),
    ("health --json", a.AdminHealth()),
]


@pytest.mark.parametrize("line, request_", CASES, ids=[c[0].split(" -")[0] for c in CASES])
def test_each_daemon_command_builds_its_admin_request(line, request_):
    import shlex

    args = build_parser().parse_args(shlex.split(line))
    assert args.admin_command.build(args) == request_


def test_every_admin_request_has_a_command():
    built = {type(c.build(build_parser().parse_args(list(c.words) + _required(c.words)))) for c in ADMIN_COMMANDS}
    assert built == set(a.admin_requests().values())


def _required(words: tuple[str, ...]) -> list[str]:
    return {("sagas", "start"): ["s"], ("registry", "lookup"): ["k"], ("app", "run"): ["c"]}.get(
        words, [CID] if words[0] == "sagas"
                                                                          and words[1] not in ("list", "catalog")
                                                                          else [])


@pytest.mark.parametrize("pairs, inputs", [
    (["email=ada@example.com"], {"email": "ada@example.com"}),
    (["n=3", "m:=3"], {"n": "3", "m": 3}),
    (["x=a=b"], {"x": "a=b"}),
    (["o:={\"k\": [1, true, null]}"], {"o": {"k": [1, True, None]}}),
    ([], {}),
])
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
    assert execute(args.admin_command, args, NeverAsked(), io.StringIO(), err) == 2
    assert "key=value" in err.getvalue()
    args = build_parser().parse_args(["sagas", "list", "--limit", "0"])
    assert execute(args.admin_command, args, NeverAsked(), io.StringIO(), err) == 2
    assert "limit" in err.getvalue()


class Answering:
    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def request(self, request):
        self.asked.append(request)
        return self.answer


@pytest.mark.parametrize("answer, flags, status", [
    (a.AdminResult(request="AdminHealth", data={"ok": 1}), ["--json"], 0),
    (a.AdminError(code="not_found", message="no run"), [], 1),
    (a.AdminResult(request="AdminWaitRun", data={"correlation_id": CID, "saga": "s", "status": "failed"}), [], 5),
])
def test_exit_status_says_how_it_went(answer, flags, status):
    words = ["health"] if answer.request == "AdminHealth" or isinstance(answer, a.AdminError) else ["sagas", "wait", CID]
    args = build_parser().parse_args(words + flags)
    out, err = io.StringIO(), io.StringIO()
    assert execute(args.admin_command, args, Answering(answer), out, err) == status
    if flags:
        assert out.getvalue().strip() == '{\n  "ok": 1\n}'
    if isinstance(answer, a.AdminError):
        assert err.getvalue().strip() == "error (not_found): no run"


def test_graph_prints_the_plan_as_mermaid_without_a_daemon(capsys):
    assert main(["graph", "user_provisioning"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart TD") and "provision_vault" in text


def test_graph_of_an_unknown_saga_names_the_known_ones(capsys):
    assert main(["graph", "nope"]) == 1
    assert "user_provisioning" in capsys.readouterr().err


def test_the_demo_still_runs(capsys):
    assert main(["demo"]) == 0
    assert capsys.readouterr().out


def test_no_command_is_a_usage_error():
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


def test_a_bad_daemon_flag_is_one_config_error_line_and_status_2(capsys):
    assert main(["run", "--admin-port", "70000", "--data-dir", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "admin_port" in err[0] and "flag --admin-port" in err[0]


class Catalog:
    """A daemon that knows one saga and one app command, and records what it was sent."""

    SAGA = {"name": "nas", "app": "lab", "version": 1, "description": "", "steps": ["a"], "inputs": [
        {"name": "dataset_id", "type": "string", "required": True, "default": None, "description": "",
         "schema": {"type": "string"}},
        {"name": "max_trials", "type": "integer >= 1", "required": False, "default": 3, "description": "",
         "schema": {"type": "integer", "minimum": 1}}]}
    COMMAND = {"name": "record", "app": "lab", "domain": "bolt", "help": "", "args": [
        {"name": "score", "type": "number", "required": True, "default": None, "description": "",
         "schema": {"type": "number"}}]}

    def __init__(self):
        self.asked = []

    def request(self, request):
        self.asked.append(request)
        if isinstance(request, a.AdminCatalog):
            sagas = [self.SAGA] if request.saga in (None, "nas") else []
            return a.AdminResult(request="AdminCatalog", data={"apps": [], "sagas": sagas, "commands": [self.COMMAND]})
        return a.AdminResult(request=type(request).__name__, data={"correlation_id": CID, "saga": "nas",
                                                                   "existing": False, "app": "lab",
                                                                   "command": "record", "domain": "bolt",
                                                                   "reply": {"ok": True}})


def test_sagas_start_converts_text_inputs_by_the_sagas_schema_and_keeps_json_ones():
    daemon = Catalog()
    args = build_parser().parse_args(["sagas", "start", "nas", "dataset_id=digits", "max_trials=2", "extra:=[1]"])
    assert execute(args.admin_command, args, daemon, io.StringIO(), io.StringIO()) == 0
    catalog, start = daemon.asked
    assert (catalog.saga, start.inputs) == ("nas", {"dataset_id": "digits", "max_trials": 2, "extra": [1]})


def test_a_value_that_does_not_fit_the_schema_is_refused_naming_field_and_type_before_the_start_is_sent():
    daemon, err = Catalog(), io.StringIO()
    args = build_parser().parse_args(["sagas", "start", "nas", "dataset_id=digits", "max_trials=0"])
    assert execute(args.admin_command, args, daemon, io.StringIO(), err) == 2
    assert err.getvalue().strip() == "error: max_trials: expected integer >= 1, got '0'"
    assert [type(r) for r in daemon.asked] == [a.AdminCatalog]


def test_an_unknown_saga_is_started_with_text_inputs_and_the_daemon_refuses_it():
    daemon = Catalog()
    args = build_parser().parse_args(["sagas", "start", "other", "n=3"])
    execute(args.admin_command, args, daemon, io.StringIO(), io.StringIO())
    assert daemon.asked[-1].inputs == {"n": "3"}


def test_app_run_converts_arguments_by_the_commands_schema_and_shows_the_reply():
    daemon, out = Catalog(), io.StringIO()
    args = build_parser().parse_args(["app", "run", "record", "score=0.25"])
    assert execute(args.admin_command, args, daemon, out, io.StringIO()) == 0
    assert (daemon.asked[-1].command, daemon.asked[-1].args) == ("record", {"score": 0.25})
    assert out.getvalue().strip() == "ok  true"


def test_app_list_shows_the_commands_and_one_commands_arguments():
    daemon = Catalog()
    for words, expected in ((["app", "list"], "record"), (["app", "list", "record"], "score     number")):
        out = io.StringIO()
        args = build_parser().parse_args(words)
        assert execute(args.admin_command, args, daemon, out, io.StringIO()) == 0
        assert expected in out.getvalue()


def test_sagas_catalog_with_a_name_shows_its_typed_inputs():
    out = io.StringIO()
    args = build_parser().parse_args(["sagas", "catalog", "nas"])
    assert execute(args.admin_command, args, Catalog(), out, io.StringIO()) == 0
    assert "max_trials  integer >= 1  no        3" in out.getvalue()
