"""Where the bridge's trainers go in a convention (pure)."""

from thunderline.domains.trainer_places import choose_member, declares_trainer, satisfies, trainer_requirements

MEMBER = {"sagaline.role": "member", "sagaline.trainer": True, "Admin Port": 1901, "Thespian Version": "17"}


def test_the_trainer_capability_defaults_to_true_except_on_a_member():
    assert declares_trainer({"sagaline.role": "leader", "sagaline.trainer": None})
    assert declares_trainer({})  # no sagaline daemon (a test's actor system)
    assert not declares_trainer({"sagaline.role": "member", "sagaline.trainer": None})
    assert not declares_trainer({"sagaline.role": "leader", "sagaline.trainer": False})
    assert declares_trainer(MEMBER)


def test_a_trainer_member_is_named_by_its_admin_port_and_start_and_only_it_satisfies_the_name():
    needs = trainer_requirements(MEMBER)
    assert needs == {"Admin Port": 1901, "Thespian Version": "17"}
    assert satisfies(MEMBER, needs) and satisfies(MEMBER, None)
    assert not satisfies({**MEMBER, "Admin Port": 1902}, needs)
    assert not satisfies({**MEMBER, "sagaline.trainer": False}, None)
    assert trainer_requirements({**MEMBER, "sagaline.trainer": False}) is None
    assert trainer_requirements({"sagaline.trainer": True}) is None  # cannot be named


def test_the_next_trainer_goes_to_the_least_loaded_member_the_first_on_a_tie():
    assert choose_member({}) is None
    assert choose_member({"a": 0, "b": 0}) == "a"
    assert choose_member({"a": 1, "b": 0}) == "b"
    assert choose_member({"a": 2, "b": 3, "c": 2}) == "a"
