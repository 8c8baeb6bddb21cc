"""Real training of one NAS trial: load the data, fit an MLP, write the model file.

What a trainer actor runs (in its own process on multiprocess bases), and
what bolt uses to describe datasets and verify artifacts. scikit-learn and
numpy are imported **inside** the functions that need them, never at module
import, so the daemon's processes that only import this module (bolt, the
bridge) do not pay for them.

Datasets (:class:`~thunderline.messages.bridge.TrainingDataset`):

* ``builtin``: ``digits``, scikit-learn's bundled 8x8 digit images
  (1797 samples, 64 features, 10 classes; no network needed).
* ``csv``: numbers separated by commas, the label in the last column; a
  first line that is not numeric is taken as a header.
* ``npz``: a NumPy archive with arrays ``X`` (2-D) and ``y`` (1-D); loaded
  with ``allow_pickle=False``.

Training (:func:`train_trial`): a stratified 75/25 split and the standard
scaling of the training part, both seeded; an ``MLPClassifier`` (Adam)
trained one epoch at a time with ``partial_fit``, so progress is reported
per epoch and a stop request is honoured between epochs; accuracy on the
held-out part. The artifact is an ``.npz`` of the weights, biases, scaler
and classes (no pickle: loading a model never runs code), written to a
temporary name and renamed, so a killed trainer never leaves a half file
under the final name. Its size and SHA-256 go in the result.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thunderline.messages.bridge import Architecture, TrainingDataset

__all__ = [
    "DatasetError",
    "TrainingStopped",
    "TrainedModel",
    "describe_dataset",
    "load_dataset",
    "train_trial",
    "sha256_of",
    "verify_artifact",
    "load_artifact",
    "predict",
]

#: Share of the samples held out for the accuracy.
TEST_SHARE = 0.25


class DatasetError(ValueError):
    """A dataset cannot be loaded (missing file, bad shape, unknown built-in)."""


class TrainingStopped(Exception):
    """Raised inside :func:`train_trial` when ``should_stop`` says so between epochs."""


@dataclass(frozen=True)
class TrainedModel:
    """What a finished trial produced."""

    accuracy: float
    param_count: int
    path: str
    size_bytes: int
    sha256: str
    duration_s: float


def describe_dataset(kind: str, path: str, name: str = "") -> dict[str, int]:
    """Load a dataset once to learn its shape.

    Returns:
        ``feature_count``, ``class_count`` and ``sample_count``.

    Raises:
        DatasetError: It cannot be loaded, or has < 2 classes or no samples.
    """
    X, y = _load(kind, path, name)
    classes = len(set(y.tolist()))
    if len(y) == 0 or classes < 2:
        raise DatasetError(f"{name or path}: needs samples of at least two classes, has {classes}")
    return {"feature_count": int(X.shape[1]), "class_count": classes, "sample_count": len(y)}


def load_dataset(dataset: TrainingDataset) -> tuple[Any, Any]:
    """The dataset's features ``X`` (2-D float array) and labels ``y``.

    Raises:
        DatasetError: It cannot be loaded.
    """
    return _load(dataset.kind, dataset.path, dataset.name)


def _load(kind: str, path: str, name: str) -> tuple[Any, Any]:
    import numpy as np

    if kind == "builtin":
        if name != "digits":
            raise DatasetError(f"no built-in dataset {name!r} (known: digits)")
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    elif kind == "csv":
        X, y = _load_csv(path)
    elif kind == "npz":
        X, y = _load_npz(path)
    else:
        raise DatasetError(f"unknown dataset kind {kind!r} (builtin, csv, npz)")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) != len(y):
        raise DatasetError(f"{path or name}: X must be 2-D with one row per label")
    return X, np.asarray(y)


def _load_csv(path: str) -> tuple[Any, Any]:
    import numpy as np

    try:
        try:
            data = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError:
            data = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read as numeric CSV: {exc}") from None
    if data.shape[1] < 2:
        raise DatasetError(f"{path}: needs feature columns and a label column")
    return data[:, :-1], data[:, -1]


def _load_npz(path: str) -> tuple[Any, Any]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["X"], archive["y"]
    except KeyError as exc:
        raise DatasetError(f"{path}: the archive needs arrays X and y ({exc})") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read as .npz: {exc}") from None


def train_trial(
    dataset: TrainingDataset,
    arch: Architecture,
    *,
    seed: int,
    out_path: str | Path,
    on_epoch: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainedModel:
    """Train one architecture and write its model file.

    Args:
        dataset: What to train on.
        arch: What to train.
        seed: Seeds the split, the scaling and the weights.
        out_path: The model file to write (its directory is created).
        on_epoch: Called after each epoch with (epoch, epochs, loss).
        should_stop: Asked after each epoch; True stops the training.

    Returns:
        The trained model's metrics and file facts.

    Raises:
        DatasetError: The data cannot be loaded.
        TrainingStopped: ``should_stop`` said so.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    started = time.monotonic()
    X, y = load_dataset(dataset)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SHARE, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = MLPClassifier(
        hidden_layer_sizes=tuple(arch.layers),
        activation=arch.activation,
        learning_rate_init=arch.learning_rate,
        alpha=arch.alpha,
        batch_size=min(arch.batch_size, len(X_train)),
        random_state=seed,
    )
    classes = sorted(set(y.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings are expected for short budgets
        for epoch in range(1, arch.epochs + 1):
            model.partial_fit(X_train, y_train, classes=classes)
            if on_epoch is not None:
                on_epoch(epoch, arch.epochs, float(model.loss_))
            if should_stop is not None and should_stop():
                raise TrainingStopped(f"stopped after epoch {epoch} of {arch.epochs}")
    accuracy = float(model.score(X_test, y_test))
    path = _write_model(model, scaler, out_path)
    params = sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    return TrainedModel(
        accuracy, int(params), str(path), path.stat().st_size, sha256_of(path), time.monotonic() - started
    )


def _write_model(model: Any, scaler: Any, out_path: str | Path) -> Path:
    import numpy as np

    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"coef_{i}": w for i, w in enumerate(model.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(model.intercepts_)})
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(temporary, "wb") as out:
        np.savez(
            out,
            classes=np.asarray(model.classes_),
            activation=np.asarray(model.activation),
            out_activation=np.asarray(model.out_activation_),
            scale_mean=scaler.mean_,
            scale_std=scaler.scale_,
            **arrays,
        )
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return path


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_artifact(path: str, size_bytes: int | None, sha256: str | None) -> str | None:
    """None when the file at ``path`` has that size and SHA-256, else what is wrong."""
    try:
        actual_size = os.path.getsize(path)
    except OSError as exc:
        return f"cannot read {path!r}: {exc.strerror or exc}"
    if size_bytes is not None and actual_size != size_bytes:
        return f"{path} has {actual_size} bytes, {size_bytes} reported"
    actual = sha256_of(path)
    return None if actual == sha256 else f"{path} has SHA-256 {actual}, {sha256} reported"


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read a model file written by :func:`train_trial` (no pickle involved)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def predict(model: dict[str, Any], X: Any) -> Any:
    """Labels a loaded model file predicts for ``X`` (the same forward pass as scikit-learn's)."""
    import numpy as np

    acts: dict[str, Callable[[Any], Any]] = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "identity": lambda z: z,
        "logistic": lambda z: 1 / (1 + np.exp(-z)),
    }
    hidden = acts[str(model["activation"])]
    a = (np.asarray(X, dtype=float) - model["scale_mean"]) / model["scale_std"]
    layers = sum(1 for name in model if name.startswith("coef_"))
    for i in range(layers):
        a = a @ model[f"coef_{i}"] + model[f"intercept_{i}"]
        if i < layers - 1:
            a = hidden(a)
    classes = model["classes"]
    if a.shape[1] == 1:
        return classes[(a[:, 0] > 0).astype(int)]
    return classes[np.argmax(a, axis=1)]
