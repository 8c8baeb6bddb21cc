"""The runtime needs no scikit-learn, numpy or scipy: they are the thunderline extra's.

A ``sitecustomize`` put first on the import path refuses those three in
every interpreter that starts with it: the test's subprocesses, the daemon
and, through the import path the daemon hands its launcher, every actor
process (forked from the launcher, they inherit the refusal). Each
interpreter it ran in leaves a marker file, so the test knows it was in
force and not merely never asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import requires
from pathlib import Path

import pytest

from sagaline.testing.daemon import CliRunner

BLOCKED = ("sklearn", "numpy", "scipy")
SITECUSTOMIZE = '''
    import os, sys

    class _RefuseML:
        """Refuses scikit-learn, numpy and scipy, as an install without the extra lacks them."""

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}} (refused by the test)", name=name)
            return None

    sys.meta_path.insert(0, _RefuseML())
    open(os.path.join({markers!r}, str(os.getpid())), "w").close()
'''


@pytest.fixture
def refusing(tmp_path) -> tuple[Path, Path]:
    """(a directory holding the refusing sitecustomize, the directory its markers go to)."""
    site, markers = tmp_path / "site", tmp_path / "markers"
    site.mkdir()
    markers.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE.format(blocked=BLOCKED, markers=str(markers))))
    return site, markers


def _python(site: Path, code: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(site), *(p for p in sys.path if p and os.path.isdir(p))])
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_refusal_works(refusing):
    site, markers = refusing
    done = _python(site, "import numpy")
    assert done.returncode != 0 and "refused by the test" in done.stderr
    assert list(markers.iterdir())


def test_every_runtime_module_and_the_thunderline_app_import_without_them(refusing):
    site, _ = refusing
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import sagaline
        names = [m.name for m in pkgutil.walk_packages(sagaline.__path__, "sagaline.")]
        for name in names:
            importlib.import_module(name)
        from sagaline.apps import load_apps
        apps = load_apps(["thunderline.app:app"], entry_points=False)
        assert not [m for m in sys.modules if m.split(".")[0] in ("sklearn", "numpy", "scipy")]
        print(len(names), sorted(apps.sagas))
    """)
    done = _python(site, code)
    assert done.returncode == 0, done.stderr
    count, sagas = done.stdout.split(" ", 1)
    assert int(count) > 80 and "cerebros_nas" in sagas


def test_the_daemon_serves_a_user_app_and_the_thunderline_sagas_without_them(
    refusing, sagaline_daemon_factory, monkeypatch
):
    site, markers = refusing
    monkeypatch.syspath_prepend(str(site))  # the daemon's import path is the test's (the plugin hands it on)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "examples"))
    daemon = sagaline_daemon_factory({"apps": ["inventory.app:app", "thunderline.app:app"]})
    started = {int(p.name) for p in markers.iterdir()}
    # in force in the daemon and in the launcher its actor processes are forked from (no CLI has run yet)
    assert daemon.info.pid in started and len(started) >= 2
    cli = CliRunner(daemon)

    cli.json("app", "run", "restock", "sku=pear", "quantity=2")
    order = cli.json("sagas", "start", "place_order", "sku=pear", "card=visa", "--wait")
    onboarding = cli.json("sagas", "start", "user_provisioning", "email=ada@example.com", "--wait")

    assert (order["status"], onboarding["status"]) == ("completed", "completed")
    for pid in daemon.pids():
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue  # ended meanwhile
        assert not [lib for lib in BLOCKED if f"/{lib}/" in maps], f"process {pid} loaded one of {BLOCKED}"


def test_the_distribution_requires_them_only_with_the_thunderline_extra():
    needs = [
        r
        for r in requires("sagaline") or []
        if r.split("=")[0].split("[")[0].strip().lower() in ("scikit-learn", "numpy", "scipy")
    ]
    assert len(needs) == 3
    assert all('extra == "thunderline"' in r for r in needs), needs
