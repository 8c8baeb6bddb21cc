"""RunBook: which unfinished runs a saga host rebuilds next."""

from __future__ import annotations

from sagaline.hosts.run_book import RunBook


def test_the_runs_to_rebuild_come_oldest_first_at_most_the_limit_however_many_runs_are_in_progress():
    book = RunBook(finished_cache=10)
    book.live = {f"live{i}": object() for i in range(5)}  # runs waiting in flight must not hold the others back
    for i in range(5):
        book.to_recover[f"r{i}"] = "held"
    assert book.to_rebuild(2) == [("r0", "held"), ("r1", "held")]
    assert book.to_rebuild(2) == [("r2", "held"), ("r3", "held")]
    assert book.to_rebuild(2) == [("r4", "held")]
    assert book.to_rebuild(2) == [] and not book.to_recover


def test_a_waiter_that_asked_to_start_an_existing_run_is_told_so_in_the_outcome_and_the_others_are_not():
    from sagaline.messages.saga import RunOutcome

    book = RunBook(finished_cache=10)
    book.wait("c1", "starter")
    book.wait("c1", "second-starter", existing=True)
    answers = dict(book.over(RunOutcome(correlation_id="c1", saga="s", status="completed")))
    assert (answers["starter"].existing, answers["second-starter"].existing) == (False, True)
    assert book.finished["c1"].existing is False


def test_a_withdrawn_start_is_forgotten_and_everyone_waiting_for_it_is_refused_nothing_is_remembered_as_ended():
    book = RunBook(finished_cache=10)
    book.live["c1"] = object()
    book.wait("c1", "waiter")
    book.accept_later("c1", "acceptor")
    answers = book.withdrawn("c1", "refused")
    assert sorted(answers) == [("acceptor", "refused"), ("waiter", "refused")]
    assert not book.known("c1") and "c1" not in book.finished
    assert book.withdrawn("c1", "refused") == []
