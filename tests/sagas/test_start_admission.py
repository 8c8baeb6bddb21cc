"""Start admission (pure): ids in any letter case are admitted lowercase; bad ids and inputs are refused."""

import pytest

from sagaline.messages.ids import uuid7
from sagaline.messages.saga import AwaitRun, CancelRun, RunStatus, SagaRefused, StartSaga
from sagaline.sagas.admission import Admitted, admit
from thunderline.testing import thunderline_apps

SAGAS = thunderline_apps().saga_factories()
EMAIL = {"email": "ada@example.com"}


def start(**fields) -> Admitted | SagaRefused:
    return admit(StartSaga(saga="user_provisioning", inputs=fields.pop("inputs", EMAIL), **fields), SAGAS)


def test_an_upper_case_correlation_id_is_admitted_in_lower_case():
    cid = uuid7()
    admitted = start(correlation_id=cid.upper())
    assert isinstance(admitted, Admitted) and admitted.correlation_id == cid


def test_a_mixed_case_causation_id_is_admitted_in_lower_case():
    cause = uuid7()
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(cause))
    admitted = start(causation_id=mixed)
    assert isinstance(admitted, Admitted) and admitted.causation_id == cause


def test_the_request_messages_carry_a_run_id_given_in_upper_case_in_lower_case():
    cid = uuid7()
    assert StartSaga(saga="s", correlation_id=cid.upper(), causation_id=cid.upper()).correlation_id == cid
    assert StartSaga(saga="s", causation_id=cid.upper()).causation_id == cid
    for message in (AwaitRun, CancelRun, RunStatus):
        assert message(correlation_id=cid.upper()).correlation_id == cid


def test_a_malformed_id_is_kept_as_given_for_the_receiver_to_refuse():
    assert AwaitRun(correlation_id="Not-A-Run").correlation_id == "Not-A-Run"


@pytest.mark.parametrize("bad", ["not-a-uuid", "{%s}", "%s\n", "%s ", "01a21f9e-772c-405c-ba40-14c2f52cec1d"])
def test_a_correlation_id_that_is_no_uuid7_in_any_case_is_refused(bad):
    given = bad % uuid7() if "%s" in bad else bad
    refused = start(correlation_id=given)
    assert isinstance(refused, SagaRefused) and refused.code == "invalid_correlation_id"
    assert "UUID v7" in refused.message


@pytest.mark.parametrize("bad", ["", "junk", "%s\n"])
def test_a_causation_id_that_is_no_uuid7_is_refused(bad):
    refused = start(causation_id=bad % uuid7() if "%s" in bad else bad)
    assert isinstance(refused, SagaRefused) and refused.code == "invalid_causation_id"


def test_an_empty_correlation_id_means_a_new_one():
    admitted = start(correlation_id="")
    assert isinstance(admitted, Admitted) and admitted.correlation_id != ""


@pytest.mark.parametrize("redirect", ["//evil.example/x", "https://evil.example/", "welcome", "/a\nBcc: x"])
def test_a_magic_link_redirect_that_is_no_local_path_is_refused_before_anything_starts(redirect):
    refused = start(inputs={**EMAIL, "magic_link_redirect": redirect})
    assert isinstance(refused, SagaRefused) and refused.code == "invalid_input"
    assert "magic_link_redirect" in refused.message


def test_a_local_magic_link_redirect_is_admitted():
    assert isinstance(start(inputs={**EMAIL, "magic_link_redirect": "/welcome?x=1"}), Admitted)
