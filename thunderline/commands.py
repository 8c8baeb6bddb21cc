"""The Thunderline app's admin commands: what its sagas need, from the CLI alone.

``sagaline app list`` shows them with their arguments; ``sagaline app run
NAME key=value ...`` runs one (each becomes one command to the domain
actor that owns the data; see :class:`~sagaline.apps.AppCommand`)::

    UPMActivation needs a shadow snapshot with a drift window (and adapters
    to move):
        register_snapshot   bolt   RegisterSnapshot  (snapshot_id optional: chosen or generated)
        record_drift        bolt   RecordDrift
        register_adapter    bolt   RegisterAdapter
        list_snapshots      bolt   ListSnapshots
        list_adapters       bolt   ListAdapters
    CerebrosNAS needs a dataset (``digits`` is built in):
        register_dataset    bolt   RegisterDataset   (csv or npz file)
        list_datasets       bolt   ListDatasets
        show_model_run      bolt   ShowModelRun      (history, artifacts, versions)
        list_model_runs     bolt   ListModelRuns     (state optional: one state only)
        list_trials         bridge ListTrials        (run_id optional: one run's trials, with epochs)
    crown's policies, which UPMActivation's policy_check applies, and its audit:
        list_policies       crown  ListPolicies
        list_decisions      crown  ListDecisions     (limit, correlation_id, effect: allow or deny)

The listings name the columns the CLI shows (``--json`` has every field).
"""

from __future__ import annotations

from sagaline.apps import AppCommand
from thunderline.messages import bolt, bolt_models, bridge, crown

__all__ = ["COMMANDS"]

COMMANDS: tuple[AppCommand, ...] = (
    AppCommand(
        "register_snapshot", "bolt", bolt.RegisterSnapshot, help="register a trained UPM snapshot (shadow mode)"
    ),
    AppCommand(
        "record_drift",
        "bolt",
        bolt.RecordDrift,
        help="record a drift window for a snapshot (times in ISO 8601 with a zone)",
    ),
    AppCommand("register_adapter", "bolt", bolt.RegisterAdapter, help="register an adapter (optionally on a snapshot)"),
    AppCommand("list_snapshots", "bolt", bolt.ListSnapshots, help="every UPM snapshot, oldest first"),
    AppCommand("list_adapters", "bolt", bolt.ListAdapters, help="every adapter, by name"),
    AppCommand(
        "register_dataset", "bolt", bolt_models.RegisterDataset, help="register a NAS dataset file (csv or npz)"
    ),
    AppCommand("list_datasets", "bolt", bolt_models.ListDatasets, help="every NAS dataset (digits is built in)"),
    AppCommand(
        "show_model_run",
        "bolt",
        bolt_models.ShowModelRun,
        help="a NAS model run with its history, artifacts and versions",
    ),
    AppCommand(
        "list_model_runs",
        "bolt",
        bolt_models.ListModelRuns,
        help="NAS model runs, oldest first (state: only runs in it)",
        columns=("run_id", "state", "requested_trials", "dataset_id", "created_at", "correlation_id", "reason"),
    ),
    AppCommand(
        "list_trials",
        "bridge",
        bridge.ListTrials,
        help="NAS trials and their training progress (run_id: one run's)",
        columns=("trial_id", "run_id", "state", "epoch", "epochs", "pid", "reason"),
    ),
    AppCommand("list_policies", "crown", crown.ListPolicies, help="crown's loaded policies"),
    AppCommand(
        "list_decisions",
        "crown",
        crown.ListDecisions,
        help="crown's audited policy decisions, newest first (limit, correlation_id, effect)",
        columns=("decided_at", "action", "effect", "policy_id", "policy_version", "reasons", "correlation_id"),
    ),
)
