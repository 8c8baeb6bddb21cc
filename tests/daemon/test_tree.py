"""The daemon's tree as child specs: what each domain is started with (pure: no actor system)."""

from __future__ import annotations

from pathlib import Path

from sagaline.daemon.tree import TreeConfig, tree_specs

DOMAINS = {"flow": "sagaline.actors.flow.FlowActor", "bridge": "thunderline.actors.bridge.BridgeActor"}


def test_on_postgresql_every_domain_gets_its_schema_and_the_data_dir_for_files_a_store_does_not_hold(tmp_path):
    url = "postgresql://u@127.0.0.1:5432/db"
    specs = {s.id: s for s in tree_specs(TreeConfig(data_dir=tmp_path, storage_url=url, domains=DOMAINS))}

    for name in DOMAINS:
        assert specs[name].args["db_path"] == f"{url}#{name}"
        assert specs[name].args["data_dir"] == str(tmp_path)


def test_on_sqlite_every_domain_gets_its_file_in_the_data_dir(tmp_path):
    specs = {s.id: s for s in tree_specs(TreeConfig(data_dir=tmp_path, domains=DOMAINS))}

    assert Path(specs["bridge"].args["db_path"]) == tmp_path / "bridge.sqlite"
    assert specs["flow"].args["data_dir"] == str(tmp_path)


def test_with_leases_the_convention_watch_gets_the_journal_the_hosts_write_and_whether_it_leads(tmp_path):
    url = "postgresql://u@127.0.0.1:5432/db"
    config = TreeConfig(data_dir=tmp_path, storage_url=url, domains=DOMAINS, lease_s=5.0, leader=False, heartbeat_s=2.0)
    specs = {s.id: s for s in tree_specs(config)}

    hosts = specs["sagas"].args["children"]
    assert specs["convention"].args["journal"] == hosts[0]["args"]["journal_path"] == f"{url}#journal"
    assert (specs["convention"].args["leader"], specs["convention"].args["heartbeat_s"]) == (False, 2.0)
    assert "convention" not in {s.id for s in tree_specs(TreeConfig(data_dir=tmp_path, domains=DOMAINS))}
    memory = TreeConfig(data_dir=tmp_path, domains=DOMAINS, lease_s=5.0, journal="memory")
    assert {s.id: s for s in tree_specs(memory)}["convention"].args["journal"] is None
