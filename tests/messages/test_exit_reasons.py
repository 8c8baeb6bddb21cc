"""Exit reasons are OTP's: a bare ``shutdown`` or ``{shutdown, Term}`` (kind shutdown with a term), and only
shutdown carries a term."""

import pytest
from pydantic import ValidationError

from sagaline.messages.codec import decode, encode
from sagaline.messages.supervision import ExitReason, Stop


def test_a_shutdown_with_a_term_describes_itself_with_the_term():
    assert ExitReason(kind="shutdown", term="rebalanced").describe() == "shutdown: 'rebalanced'"
    assert ExitReason(kind="shutdown").describe() == "shutdown"


@pytest.mark.parametrize("kind", ["normal", "error", "killed"])
def test_only_a_shutdown_carries_a_term(kind):
    with pytest.raises(ValidationError, match="only a shutdown exit carries a term"):
        ExitReason(kind=kind, term="why")


def test_a_stop_with_a_term_asks_for_a_shutdown_with_that_term():
    assert Stop(term={"node": "n2"}).exit_reason() == ExitReason(kind="shutdown", term={"node": "n2"})
    with pytest.raises(ValidationError):
        Stop(reason="normal", term="why").exit_reason()


def test_a_term_survives_the_codec():
    reason = ExitReason(kind="shutdown", term={"node": "n2", "moved": [1, 2]})
    assert decode(encode(reason)) == reason
