"""The registry's pure table: unique keys, takeover, subtree removal, select conditions."""

from sagaline.registry.table import Entry, RegistryTable, matches


def test_a_taken_key_is_refused_naming_the_holder():
    table = RegistryTable()
    assert table.register(Entry("k", "A")) == (None, None)
    conflict, _ = table.register(Entry("k", "B"))
    assert conflict.holder == "A" and table.get("k").holder == "A"


def test_a_successor_takes_over_its_predecessors_key():
    table = RegistryTable()
    table.register(Entry("k", "A"))
    conflict, replaced = table.register(Entry("k", "A2"), replaces="A")
    assert conflict is None and replaced.holder == "A"
    assert table.keys_of("A") == [] and table.keys_of("A2") == ["k"]


def test_an_exit_removes_the_holders_keys_and_its_descendants_keys():
    table = RegistryTable()
    table.register(Entry("mid", "M", lineage=("T",)))
    table.register(Entry("leaf1", "L1", lineage=("T", "M")))
    table.register(Entry("leaf2", "L2", lineage=("T", "M", "I")))
    table.register(Entry("side", "S", lineage=("T",)))
    removed = table.holder_exited("M")
    assert sorted(e.key for e in removed) == ["leaf1", "leaf2", "mid"]
    assert table.keys_of("S") == ["side"] and len(table) == 1


def test_select_by_prefix_pattern_holder_and_value_conditions():
    table = RegistryTable()
    for i in range(5):
        table.register(Entry(f"saga:{i}", f"H{i % 2}", {"status": "running" if i < 3 else "done", "n": i}))
    table.register(Entry("other", "H0", {"status": "running"}))
    assert [e.key for e in table.select(prefix="saga:", where=[(("status",), "eq", "running")])] == [
        "saga:0",
        "saga:1",
        "saga:2",
    ]
    assert [e.key for e in table.select(pattern="saga:[34]")] == ["saga:3", "saga:4"]
    assert [e.key for e in table.select(holder="H1")] == ["saga:1", "saga:3"]
    assert [e.key for e in table.select(where=[(("n",), "in", [1, 4])], limit=1)] == ["saga:1"]
    assert table.count("saga:") == 5


def test_conditions_never_raise_on_odd_values():
    assert not matches({"a": 1}, ("a", "b"), "eq", 1)
    assert not matches({"a": "x"}, ("a",), "lt", 3)
    assert matches({"a": {"b": None}}, ("a", "b"), "exists", None)


def test_update_value_only_by_the_holder():
    table = RegistryTable()
    table.register(Entry("k", "A", 1))
    assert table.update_value("k", 2, "B") == "not_holder"
    assert table.update_value("nope", 2, "A") == "not_found"
    assert table.update_value("k", 2, "A") is None and table.get("k").value == 2


def test_an_entry_with_a_ttl_expires_unless_its_holder_renews_it():
    table = RegistryTable()
    table.register(Entry("copy", "A", ttl_s=10.0, expires_at=110.0))
    table.register(Entry("kept", "B"))
    assert table.next_expiry() == 110.0
    assert table.renew("copy", "B", 105.0) == "not_holder" and table.renew("nosuch", "A", 105.0) == "not_found"
    assert table.renew("copy", "A", 105.0) is None and table.next_expiry() == 115.0
    assert table.renew("kept", "B", 105.0) is None and table.get("kept").expires_at is None
    assert table.expire(114.9) == [] and table.get("copy") is not None
    assert [e.key for e in table.expire(115.0)] == ["copy"]
    assert table.get("copy") is None and table.keys_of("A") == [] and table.next_expiry() is None
