"""``python -m tests.e2e.attacker PORT SECRET_FILE``: what a same-user process without the daemon's control token
tries on its admin door.

Joins the daemon's actor system as any client can, finds the admin door by
its global name, then: tells the door ``ActorExitRequest``; sends it a
second ``AdminDoorInit`` (pointing it at nothing); and calls
``ActorSystem.shutdown()`` (sent at once; Thespian then waits up to 10 s for
a completion that a refused shutdown never gets, so this process ends
itself after a second). Prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def main(port: int, secret_file: str) -> None:
    from thespian.actors import ActorExitRequest

    from sagaline.messages.admin import ADMIN_DOOR_NAME, AdminDoorInit
    from sagaline.runtime import join_system, load_secret

    handle = join_system(port, secret=load_secret(secret_file))
    door = handle.create_actor("sagaline.admin.door.AdminDoor", global_name=ADMIN_DOOR_NAME)
    handle.tell(door, ActorExitRequest())
    second = handle.ask(door, AdminDoorInit(registry=None, token="guess"), 10)
    seen = {"second_init": getattr(second, "code", type(second).__name__)}
    threading.Thread(target=handle.asys.shutdown, daemon=True).start()
    time.sleep(1.0)
    print(json.dumps(seen), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
