"""Sealed frames, hellos and proofs: the wire format, without sockets."""

import pickle

import pytest

from sagaline.runtime.frames import MAX_FRAME_BYTES, FrameKey, FrameRejected, frame, parse_header

SECRET = bytes(range(32))
OTHER = bytes(range(1, 33))


def body_of(framed: bytes) -> bytes:
    size, start = parse_header(framed)
    assert len(framed) == start + size
    return framed[start:]


def test_a_sealed_frame_opens_to_its_payload_under_the_same_secret():
    payload = pickle.dumps(("address", {"n": 1}))
    assert FrameKey(SECRET).open(body_of(FrameKey(SECRET).seal(payload))) == payload


@pytest.mark.parametrize("position", [0, 1, 20, 33, -1])
def test_a_frame_with_any_byte_changed_is_rejected(position):
    body = bytearray(body_of(FrameKey(SECRET).seal(pickle.dumps("hello"))))
    body[position] ^= 0x01
    with pytest.raises(FrameRejected):
        FrameKey(SECRET).open(bytes(body))


def test_a_frame_sealed_under_another_secret_is_rejected():
    body = body_of(FrameKey(OTHER).seal(pickle.dumps("hello")))
    with pytest.raises(FrameRejected, match="does not match"):
        FrameKey(SECRET).open(body)


def test_a_plain_thespian_frame_is_not_an_authenticated_frame():
    with pytest.raises(FrameRejected, match="not an authenticated"):
        FrameKey(SECRET).open(pickle.dumps("ACK"))
    with pytest.raises(FrameRejected):
        FrameKey(SECRET).open(b"")


def test_a_hello_is_answered_with_a_proof_valid_only_for_that_nonce_port_and_secret():
    key, nonce = FrameKey(SECRET), b"n" * 32
    proof = body_of(key.answer(body_of(key.hello(nonce)), 7720))
    assert key.check_proof(nonce, proof, 7720)
    assert not key.check_proof(b"m" * 32, proof, 7720)
    assert not key.check_proof(nonce, proof, 7721)  # a proof relayed from another port
    assert not FrameKey(OTHER).check_proof(nonce, proof, 7720)
    assert not key.check_proof(nonce, body_of(FrameKey(OTHER).answer(body_of(key.hello(nonce)), 7720)), 7720)


def test_a_proof_never_passes_as_a_data_tag():
    key, nonce = FrameKey(SECRET), b"n" * 32
    forged = b"\x01" + key.proof(nonce, 7720) + nonce
    with pytest.raises(FrameRejected):
        key.open(forged)


def test_only_hellos_get_an_answer():
    key = FrameKey(SECRET)
    assert key.answer(body_of(key.seal(b"x" * 32)), 1) is None
    assert key.answer(b"\x02short", 1) is None


def test_the_ack_frames_are_remembered_for_the_fast_path():
    key = FrameKey(SECRET)
    sealed = key.seal_constant("ACK")
    assert key.ack_bodies[body_of(sealed)] == "ACK"
    assert pickle.loads(key.open(body_of(sealed))) == "ACK"


def test_a_header_is_parsed_once_complete_and_refused_when_malformed_or_too_large():
    assert parse_header(b"12") is None
    assert parse_header(b"12>abc") == (12, 3)
    assert parse_header(frame(b"abc")) == (3, 2)
    with pytest.raises(FrameRejected, match="malformed"):
        parse_header(b"1x2>")
    with pytest.raises(FrameRejected, match="no frame header"):
        parse_header(b"1" * 30)
    with pytest.raises(FrameRejected, match="exceeds"):
        parse_header(b"%d>" % (MAX_FRAME_BYTES + 1))


def test_a_secret_shorter_than_32_bytes_is_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        FrameKey(b"short")
