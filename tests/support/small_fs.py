"""Small real filesystems a test makes and always removes (root only): a tmpfs, an ext4 on a loop device.

:func:`tmpfs` and :func:`ext4_loop` are context managers yielding a :class:`SmallFs`; on the way out they
unmount (lazily if something still holds a file there) and remove the image, whatever happened. Not
root, or a kernel that refuses the mount: ``pytest.skip`` with the reason.

A :class:`SmallFs` fills itself up (:meth:`SmallFs.fill`, freed by :meth:`SmallFs.free`) and, as ext4
with ``errors=remount-ro``, goes read-only the way a disk error makes it
(:meth:`SmallFs.fail_read_only`: ``/sys/fs/ext4/<dev>/trigger_fs_error``). Such a filesystem takes no
writes until it is unmounted, checked and mounted again (:meth:`SmallFs.remount`), which needs every
file on it closed.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["SmallFs", "tmpfs", "ext4_loop"]

_CHUNK = 1 << 20


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs or a loop device (run the test as root to see storage faults)")


@dataclass
class SmallFs:
    """A mounted small filesystem (see the module docstring)."""

    mount_point: Path
    image: Path | None = None
    options: str = ""
    fillers: list[Path] = field(default_factory=list)

    def fill(self) -> Path:
        """Write a file until the filesystem has no byte left; return it."""
        filler = self.mount_point / f"filler-{len(self.fillers)}"
        self.fillers.append(filler)
        with open(filler, "wb", buffering=0) as out:
            for size in (_CHUNK, 4096, 512, 1):
                try:
                    while True:
                        out.write(b"\xff" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        return filler

    def free(self) -> None:
        """Remove what :meth:`fill` wrote."""
        for filler in self.fillers:
            filler.unlink(missing_ok=True)
        self.fillers.clear()

    def device(self) -> str:
        """The block device's name (``loop3``)."""
        source = _run("findmnt", "-n", "-o", "SOURCE", str(self.mount_point)).stdout.strip()
        return os.path.basename(os.path.realpath(source))

    def fail_read_only(self) -> None:
        """Make ext4 record an error: with ``errors=remount-ro`` it refuses every write from now on."""
        Path(f"/sys/fs/ext4/{self.device()}/trigger_fs_error").write_text("sagaline storage fault test\n")

    def remount(self) -> None:
        """Unmount, check and mount again (after :meth:`fail_read_only`; every file on it must be closed)."""
        _unmount(self.mount_point, lazy_fallback=False)
        if self.image is not None:
            _run("e2fsck", "-fy", str(self.image))
        _mount(self)


def _mount(fs: SmallFs) -> None:
    if fs.image is None:
        result = _run("mount", "-t", "tmpfs", "-o", fs.options, "tmpfs", str(fs.mount_point))
    else:
        result = _run("mount", "-o", f"loop,{fs.options}", str(fs.image), str(fs.mount_point))
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {result.stderr.strip() or result.returncode}")


def _unmount(mount_point: Path, lazy_fallback: bool = True) -> None:
    if _run("mountpoint", "-q", str(mount_point)).returncode != 0:
        return
    result = _run("umount", str(mount_point))
    if result.returncode != 0 and lazy_fallback:
        _run("umount", "-l", str(mount_point))  # something still holds a file: detach it anyway
    elif result.returncode != 0:
        raise RuntimeError(f"umount {mount_point}: {result.stderr.strip()}")


@contextmanager
def tmpfs(mount_point: Path, size: str = "16m") -> Iterator[SmallFs]:
    """A tmpfs of ``size`` at ``mount_point`` (created), unmounted at the end whatever happened."""
    _require_root()
    mount_point.mkdir(parents=True, exist_ok=True)
    fs = SmallFs(mount_point, options=f"size={size},mode=0700")
    _mount(fs)
    try:
        yield fs
    finally:
        _unmount(mount_point)


@contextmanager
def ext4_loop(mount_point: Path, image: Path, size: str = "32M") -> Iterator[SmallFs]:
    """ext4 in the file ``image`` (``size``) on a loop device at ``mount_point``, mounted
    ``errors=remount-ro``; unmounted (the loop device goes with it) and the image removed at the end."""
    _require_root()
    mount_point.mkdir(parents=True, exist_ok=True)
    made = _run("truncate", "-s", size, str(image))
    if made.returncode == 0:
        made = _run("mkfs.ext4", "-q", "-F", str(image))
    if made.returncode != 0:
        image.unlink(missing_ok=True)
        pytest.skip(f"cannot make an ext4 image here: {made.stderr.strip()}")
    fs = SmallFs(mount_point, image=image, options="errors=remount-ro")
    try:
        _mount(fs)
        yield fs
    finally:
        _unmount(mount_point)
        image.unlink(missing_ok=True)
