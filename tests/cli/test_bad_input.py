"""Finding 7 of issue 16, without a daemon: every bad input is one clear error (exit 2), never a traceback."""

import json
import os

import pytest

from sagaline.cli.commands import parse_inputs
from sagaline.cli.main import main
from sagaline.client.errors import BadInput
from sagaline.client.locate import locate


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, [1, {"a": 2**70}]])
def test_an_integer_beyond_64_bits_anywhere_in_a_json_input_is_refused(value):
    with pytest.raises(ValueError, match="outside the 64-bit range"):
        parse_inputs([f"n:={json.dumps(value)}"])


def test_the_64_bit_edges_themselves_are_accepted():
    assert parse_inputs([f"a:={2**64 - 1}", f"b:={-(2**63)}", "c:=true"]) == {"a": 2**64 - 1, "b": -(2**63), "c": True}


def test_json_nested_too_deep_to_parse_is_refused_not_raised():
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_inputs(["x:=" + "[" * 100_000])


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1"])
def test_a_bad_port_in_the_environment_is_refused_with_its_source(tmp_path, port):
    with pytest.raises(BadInput, match=f"SAGALINE_ADMIN_PORT='{port}' is not a port number"):
        locate(data_dir=tmp_path, environ={"SAGALINE_ADMIN_PORT": port})


def test_a_daemon_json_that_is_not_a_daemons_is_refused_unless_the_port_is_given(tmp_path):
    (tmp_path / "daemon.json").write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "admin_port": "abc",
                "bind_address": "127.0.0.1",
                "base": "multiprocTCPBase",
                "data_dir": str(tmp_path),
                "started_at": 0,
            }
        )
    )
    with pytest.raises(BadInput, match="admin_port 'abc' is not a port number"):
        locate(data_dir=tmp_path, environ={})
    assert locate(admin_port=7721, data_dir=tmp_path, environ={}).port == 7721


def test_a_non_utf8_argument_is_refused_before_anything_runs(capsys):
    assert main(["sagas", "start", "user_provisioning", os.fsdecode(b"email=\xff@example.com")]) == 2
    err = capsys.readouterr().err
    assert "argument 4" in err and "is not valid UTF-8" in err and len(err.strip().splitlines()) == 1
