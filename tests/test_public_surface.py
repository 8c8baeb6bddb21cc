"""Every package's public surface, pinned: a name enters or leaves ``__all__`` only by changing this test.

The runtime, daemon, domains and events packages pin theirs beside their tests
(``test_runtime_public_api.py``, ``test_public_api.py``, ...); this file pins the rest.
Packages without ``__all__`` (``admin``, ``hosts``, ``sagas``, ``cli``) have no public surface:
their modules are reached by path, inside the runtime only.
"""

import importlib

import pytest

SURFACES = {
    "sagaline": [
        "AsyncClient",
        "BadInput",
        "Busy",
        "Client",
        "ClientError",
        "DaemonFault",
        "DaemonStarting",
        "DaemonUnreachable",
        "Health",
        "NotFound",
        "OutcomeUnknown",
        "Refused",
        "RunList",
        "RunRecord",
        "StartResult",
        "Timeout",
        "__version__",
    ],
    "sagaline.saga": [
        "Backoff",
        "CancelRequested",
        "CommandStep",
        "Continue",
        "CycleError",
        "DEFAULT_BACKOFF",
        "DEFAULT_MAX_CONCURRENCY",
        "DEFAULT_MAX_RETRIES",
        "DEFAULT_UNDO_RETRIES",
        "DefinitionError",
        "Driver",
        "Executor",
        "Fail",
        "Finished",
        "Halt",
        "InputError",
        "InvocationResult",
        "Invoke",
        "LocalStep",
        "Ok",
        "Plan",
        "PlanError",
        "ResumeRequested",
        "Retry",
        "RetryCompensations",
        "RunReport",
        "RunState",
        "Saga",
        "SagaDefinition",
        "SagaError",
        "Send",
        "SetTimer",
        "StepContext",
        "StepDef",
        "StepError",
        "StepState",
        "TimelineEntry",
        "TimerFired",
        "TimerToken",
        "UnknownDependencyError",
        "input_",
        "local",
        "plan",
        "result",
        "to_mermaid",
        "value",
    ],
    "sagaline.client": [
        "AsyncClient",
        "BadInput",
        "Busy",
        "Client",
        "ClientError",
        "DaemonFault",
        "DaemonStarting",
        "DaemonUnreachable",
        "Health",
        "NotFound",
        "OutcomeUnknown",
        "Refused",
        "RunList",
        "RunRecord",
        "SagaClient",
        "SagaRefusedError",
        "StartResult",
        "Target",
        "Timeout",
        "locate",
    ],
    "sagaline.messages": [
        "Command",
        "CorrelationId",
        "Headers",
        "Message",
        "Reply",
        "Uuid7",
        "is_uuid7",
        "message_type",
        "message_types",
        "uuid7",
    ],
    "sagaline.supervisors": [
        "ChildSpec",
        "Decision",
        "DynamicFlags",
        "Intensity",
        "InvalidSpec",
        "SupervisionError",
        "SupervisorFlags",
        "child_spec",
        "dynamic_supervisor_spec",
        "on_exit",
        "supervisor_flags",
        "supervisor_spec",
    ],
    "sagaline.apps": [
        "App",
        "AppCommand",
        "AppDomain",
        "AppError",
        "Apps",
        "ENTRY_POINT_GROUP",
        "load_apps",
        "resolve_specs",
    ],
    "sagaline.storage": [
        "AsyncRunner",
        "Database",
        "SqliteOptions",
        "StorageCorrupt",
        "StorageError",
        "apply_once",
        "open_database",
    ],
    "sagaline.telemetry": [
        "AlreadyAttached",
        "Collector",
        "Telemetry",
        "telemetry",
    ],
    "sagaline.actors": [
        "BaseActor",
        "DEFER_START",
        "Timers",
        "start_actor",
    ],
    "sagaline.registry": [
        "RegistryClient",
        "RegistryRefused",
        "RegistryTable",
    ],
    "sagaline.web": [
        "DEFAULT_WEB_PORT",
        "WebSettings",
    ],
    "sagaline.testing": [
        "FakeClock",
    ],
}


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_a_package_exports_exactly_its_pinned_surface_and_every_name_resolves(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == SURFACES[package]
    assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.parametrize("package", ["sagaline.admin", "sagaline.hosts", "sagaline.sagas", "sagaline.cli"])
def test_an_internal_package_declares_no_surface(package):
    assert not hasattr(importlib.import_module(package), "__all__")
