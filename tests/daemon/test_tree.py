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
