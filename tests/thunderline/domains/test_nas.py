"""Seeded proposals from a declared search space, and the real training they lead to."""

from __future__ import annotations

import numpy as np
import pytest

from thunderline.domains import training
from thunderline.domains.nas import MAX_COMBINATIONS, SearchSpace, param_count, parse_space, propose
from thunderline.messages.bridge import Architecture, TrainingDataset

DIGITS = TrainingDataset(
    dataset_id="digits", name="digits", kind="builtin", feature_count=64, class_count=10, sample_count=1797
)


def arch(layers=(8,), epochs=3, n_features=64, n_classes=10) -> Architecture:
    return Architecture(
        layers=list(layers),
        activation="relu",
        learning_rate=0.01,
        alpha=1e-4,
        batch_size=64,
        epochs=epochs,
        param_count=param_count(n_features, tuple(layers), n_classes),
    )


def test_the_same_seed_gives_the_same_distinct_proposals_in_the_same_order():
    space = SearchSpace()
    first = propose(space, 5, seed=3, n_features=64, n_classes=10)
    assert first == propose(space, 5, seed=3, n_features=64, n_classes=10)
    assert first != propose(space, 5, seed=4, n_features=64, n_classes=10)
    assert len({(p.layers, p.activation, p.learning_rate) for p in first}) == 5


def test_no_proposal_exceeds_max_params_and_a_small_space_yields_what_it_has():
    space = parse_space(
        {"hidden_layers": [1, 2], "widths": [8, 512], "activations": ["tanh"], "learning_rates": [0.01]}
    )
    proposals = propose(space, 10, seed=0, n_features=64, n_classes=10, max_params=10_000)
    assert {p.layers for p in proposals} == {(8,), (8, 8)}
    assert propose(space, 3, seed=0, n_features=64, n_classes=10, max_params=10) == []


@pytest.mark.parametrize(
    "data, says",
    [
        ({"widths": [0]}, "search_space.widths"),
        ({"hidden_layers": [9]}, "search_space.hidden_layers"),
        ({"activations": ["softmax"]}, "search_space.activations"),
        ({"depth": 2}, "search_space.depth"),
        ({"learning_rates": [2.0]}, "learning rate"),
        ({"widths": list(range(1, 101)), "hidden_layers": [3]}, f"at most {MAX_COMBINATIONS:,}"),
    ],
)
def test_a_bad_search_space_is_refused_naming_the_field(data, says):
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        parse_space(data)


def test_the_size_estimate_is_exactly_the_trained_networks_size(tmp_path):
    for layers in [(8,), (16, 4)]:
        trained = training.train_trial(DIGITS, arch(layers, epochs=1), seed=0, out_path=tmp_path / "m.npz")
        assert trained.param_count == param_count(64, layers, 10)
    assert param_count(5, (3,), 2) == 5 * 3 + 3 + 3 * 1 + 1  # two classes: one output unit


def test_a_trained_digits_model_is_accurate_and_its_file_reproduces_its_predictions(tmp_path):
    epochs = []
    trained = training.train_trial(
        DIGITS,
        arch((32,), epochs=15),
        seed=1,
        out_path=tmp_path / "m.npz",
        on_epoch=lambda e, n, loss: epochs.append(e),
    )
    assert epochs == list(range(1, 16))
    assert trained.accuracy > 0.85
    assert trained.size_bytes == (tmp_path / "m.npz").stat().st_size
    assert training.verify_artifact(trained.path, trained.size_bytes, trained.sha256) is None
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    predicted = training.predict(training.load_artifact(trained.path), X)
    assert (predicted == y).mean() > 0.85  # the file alone is the model


def test_training_stops_between_epochs_when_asked_and_leaves_no_file(tmp_path):
    with pytest.raises(training.TrainingStopped):
        training.train_trial(DIGITS, arch(epochs=1000), seed=0, out_path=tmp_path / "m.npz", should_stop=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_artifact_is_detected(tmp_path):
    trained = training.train_trial(DIGITS, arch(epochs=1), seed=0, out_path=tmp_path / "m.npz")
    with open(trained.path, "ab") as f:
        f.write(b"x")
    assert "bytes" in training.verify_artifact(trained.path, trained.size_bytes, trained.sha256)
    assert "SHA-256" in training.verify_artifact(trained.path, None, trained.sha256)
    assert "cannot read" in training.verify_artifact(str(tmp_path / "gone.npz"), 1, "0")


def blobs(n=120, features=3):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return rng.normal(size=(n, features)) + y[:, None] * 3.0, y


def test_csv_and_npz_datasets_load_and_train(tmp_path):
    X, y = blobs()
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, y]), delimiter=",", header="a,b,c,label", comments="")
    np.savez(tmp_path / "d.npz", X=X, y=y)
    for kind in ("csv", "npz"):
        path = str(tmp_path / f"d.{kind}")
        shape = training.describe_dataset(kind, path)
        assert shape == {"feature_count": 3, "class_count": 2, "sample_count": 120}
        dataset = TrainingDataset(dataset_id=kind, name=kind, kind=kind, path=path, **shape)
        trained = training.train_trial(
            dataset, arch((4,), epochs=30, n_features=3, n_classes=2), seed=0, out_path=tmp_path / f"{kind}.npz"
        )
        assert trained.accuracy > 0.9


@pytest.mark.parametrize(
    "kind, content, says",
    [
        ("csv", "1,2\nx,y\n", "numeric CSV"),
        ("csv", "1\n2\n", "label column"),
        ("npz", None, "arrays X and y"),
        ("builtin", None, "no built-in"),
        ("parquet", None, "unknown dataset kind"),
        ("csv", "1,0\n2,0\n", "two classes"),
    ],
)
def test_a_bad_dataset_is_a_clear_error(tmp_path, kind, content, says):
    path = tmp_path / f"bad.{kind}"
    if content is not None:
        path.write_text(content)
    elif kind == "npz":
        np.savez(path, features=np.zeros((2, 2)))
    with pytest.raises(training.DatasetError, match=says):
        training.describe_dataset(kind, str(path), name="iris" if kind == "builtin" else "")
