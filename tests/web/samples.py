"""Canned daemon answers for the console's tests (shapes as the real daemon gives them)."""

from __future__ import annotations

import copy
from typing import Any

CID = "01a241ed-edd8-711a-8f75-0276e8c84833"
DONE = "01a241ed-e113-70a8-91b3-c0913a9ad15f"
T0 = 1796402441.73

STEPS = [
    {
        "name": "validate_email",
        "status": "succeeded",
        "attempts": 1,
        "started_at": T0,
        "finished_at": T0 + 0.016,
        "error": None,
        "compensation_error": None,
    },
    {
        "name": "create_user",
        "status": "succeeded",
        "attempts": 1,
        "started_at": T0 + 0.02,
        "finished_at": T0 + 0.09,
        "error": None,
        "compensation_error": None,
    },
    {
        "name": "provision_vault",
        "status": "running",
        "attempts": 2,
        "started_at": T0 + 0.1,
        "finished_at": None,
        "error": None,
        "compensation_error": None,
    },
    {
        "name": "emit",
        "status": "pending",
        "attempts": 0,
        "started_at": None,
        "finished_at": None,
        "error": None,
        "compensation_error": None,
    },
]

GRAPH = [
    {"name": "validate_email", "needs": [], "runs": "local", "undo": False},
    {"name": "create_user", "needs": ["validate_email"], "runs": "gate", "undo": True},
    {"name": "provision_vault", "needs": ["create_user"], "runs": "block", "undo": True},
    {"name": "emit", "needs": ["create_user", "provision_vault", "validate_email"], "runs": "flow", "undo": False},
]

CATALOG = {
    "apps": [{"name": "demo", "description": "", "uses": [], "sagas": ["onboard"], "domains": [], "commands": []}],
    "sagas": [
        {
            "name": "onboard",
            "app": "demo",
            "version": 1,
            "description": "onboard a user",
            "steps": [s["name"] for s in GRAPH],
            "graph": GRAPH,
            "inputs": [
                {
                    "name": "email",
                    "type": "string",
                    "required": True,
                    "default": None,
                    "description": "the address",
                    "schema": {"type": "string"},
                },
                {
                    "name": "max_trials",
                    "type": "integer >= 1",
                    "required": False,
                    "default": 3,
                    "description": "how many",
                    "schema": {"type": "integer", "minimum": 1},
                },
                {
                    "name": "api_password",
                    "type": "string",
                    "required": False,
                    "default": None,
                    "description": "",
                    "schema": {"type": "string"},
                },
            ],
        }
    ],
    "commands": [],
}


def running_run() -> dict[str, Any]:
    return {
        "correlation_id": CID,
        "saga": "onboard",
        "status": "running",
        "steps": copy.deepcopy(STEPS),
        "started_at": T0,
        "finished_at": None,
    }


def completed_run() -> dict[str, Any]:
    steps = copy.deepcopy(STEPS)
    for step in steps:
        step.update(status="succeeded", finished_at=T0 + 0.5, started_at=step["started_at"] or T0 + 0.4)
    return {
        "correlation_id": DONE,
        "saga": "onboard",
        "status": "completed",
        "steps": steps,
        "started_at": T0,
        "finished_at": T0 + 0.5,
        "result": {"user_id": "u-1", "session_token": "s3cr3t-token-value"},
        "error": None,
        "failed_step": None,
        "failed_compensations": [],
        "inputs": {"email": "ada@example.com", "api_password": "hunter2-input"},
    }


def summary(cid: str = CID, status: str = "running", started: float = T0, **more: Any) -> dict[str, Any]:
    return {
        "correlation_id": cid,
        "saga": "onboard",
        "status": status,
        "started_at": started,
        "finished_at": None,
        "failed_step": None,
        "error_code": None,
        "failed_compensations": [],
        "message": None,
        "updated_at": started,
        "resumed_from": None,
        "successor": None,
        **more,
    }


TREE = {
    "tree": {
        "id": "root",
        "status": "running",
        "type": "supervisor",
        "restarts": 0,
        "pid": None,
        "name": None,
        "children": [
            {
                "id": "gate",
                "status": "running",
                "type": "worker",
                "restarts": 2,
                "pid": 4242,
                "name": "domain:gate",
                "last_exit": "killed",
                "children": [],
            },
            {
                "id": "sagas",
                "status": "running",
                "type": "supervisor",
                "restarts": 0,
                "pid": 4243,
                "name": "sagas",
                "children": [
                    {
                        "id": "saga-1",
                        "status": "running",
                        "type": "worker",
                        "restarts": 0,
                        "pid": 4250,
                        "name": None,
                        "children": [],
                    }
                ],
            },
        ],
    }
}

HEALTH = {
    "status": "ok",
    "live": True,
    "ready": True,
    "problems": [],
    "daemon": {
        "pid": 100,
        "base": "multiprocTCPBase",
        "admin_port": 7720,
        "bind_address": "127.0.0.1",
        "data_dir": "/srv/data",
        "started_at": T0 - 60,
        "version": "0.1.0",
        "uptime_s": 60.0,
    },
    "children": [],
    "registered": 9,
}

EVENTS = {
    "events": [
        {
            "id": "e1",
            "at": "2026-12-04T16:40:41.605920Z",
            "name": "user.onboarding.complete",
            "source": "gate",
            "correlation_id": DONE,
            "payload": {"user_id": "u-1", "reset_token": "tok-abc"},
            "priority": "normal",
        },
        {
            "id": "e2",
            "at": "2026-12-04T16:40:42.000000Z",
            "name": "reactor.saga.fail",
            "source": "flow",
            "correlation_id": CID,
            "payload": {},
            "priority": "high",
        },
    ]
}

CONVENTION = {
    "self": {"role": "leader", "member": "vm:7720", "join": None, "capabilities": {"saga_host": False}},
    "members": [{"admin": "ActorAddr-(T|:7721)", "role": "member", "capabilities": {"cores": 2}}],
    "leases": [
        {
            "resource": "partition:0/2",
            "member": "vm:7721",
            "owner": "vm:7721/h0/ab@127.0.0.1:4001",
            "host": "127.0.0.1:4001",
            "expires_in_s": 3.2,
            "token": 1,
            "live": True,
        }
    ],
}
