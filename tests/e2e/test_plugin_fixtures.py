"""The plugin's daemon fixtures, used the way a user's own integration test would."""

import pytest

pytestmark = pytest.mark.multiproc


def test_the_daemon_and_cli_fixtures_give_a_served_daemon_and_the_real_cli(sagaline_daemon, sagaline_cli):
    assert sagaline_daemon.admin_port > 0 and sagaline_daemon.pids()
    out = sagaline_cli.json("sagas", "start", "user_provisioning", "email=fi@example.com", "--wait")
    assert out["status"] == "completed"
    assert "status      ok" in sagaline_cli.shell("health").stdout


def test_onboarding_rolls_back_when_vaults_fail(sagaline_daemon_factory):  # the README's example, verbatim
    from sagaline.testing.daemon import CliRunner

    daemon = sagaline_daemon_factory({"faults": {"block": [{"command": "ProvisionVault", "code": "forced"}]}})
    out = CliRunner(daemon).json("sagas", "start", "user_provisioning", "email=ada@example.com", "--wait")
    assert (out["status"], out["failed_step"]) == ("failed", "provision_vault")


def test_the_factory_passes_flags_and_config(sagaline_daemon_factory):
    from sagaline.testing.daemon import CliRunner

    daemon = sagaline_daemon_factory({"runs": {"hosts": 1}}, flags=["--log-level", "DEBUG"])
    [sagas] = [c for c in CliRunner(daemon).json("tree")["tree"]["children"] if c["id"] == "sagas"]
    assert len(sagas["children"]) == 1
