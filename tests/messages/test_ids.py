"""UUID v7 generation and validation (RFC 9562)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sagaline.messages.ids import canonical_uuid7, is_uuid7, uuid7, uuid7_time_ms


def test_generated_ids_are_canonical_version_7_variant_10():
    for _ in range(200):
        text = uuid7()
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text and is_uuid7(text)


def test_ids_generated_in_one_process_sort_in_generation_order_even_within_a_millisecond():
    ids = [uuid7(now_ms=1_700_000_000_000) for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_the_timestamp_prefix_is_the_unix_milliseconds():
    assert uuid7_time_ms(uuid7(now_ms=1_800_000_000_123)) >= 1_800_000_000_123


def test_other_versions_uppercase_braces_and_junk_are_rejected():
    good = uuid7()
    for bad in [
        str(uuid.uuid4()),
        good.upper(),
        "{" + good + "}",
        good.replace("-", ""),
        good[:-1],
        "",
        None,
        7,
        good[:19] + "c" + good[20:],
    ]:
        assert not is_uuid7(bad)


@given(st.text(max_size=40))
def test_arbitrary_text_is_never_mistaken_for_a_uuid7(text):
    if is_uuid7(text):
        assert uuid.UUID(text).version == 7


def test_a_trailing_newline_or_any_other_trailing_text_is_rejected():
    good = uuid7()
    for bad in [good + "\n", good + "\r\n", good + " ", "\n" + good, good + "0"]:
        assert not is_uuid7(bad)


def test_an_id_in_any_letter_case_has_one_canonical_lowercase_form():
    good = uuid7()
    assert canonical_uuid7(good.upper()) == canonical_uuid7(good) == good
    assert canonical_uuid7(good.title()) == good


def test_look_alikes_junk_and_other_versions_have_no_canonical_form():
    good = uuid7()
    fullwidth = good[:14] + "\uff17" + good[15:]  # the version nibble as FULLWIDTH DIGIT SEVEN
    for bad in [good + "\n", "{" + good + "}", str(uuid.uuid4()), fullwidth, "", None, 7]:
        assert canonical_uuid7(bad) is None
