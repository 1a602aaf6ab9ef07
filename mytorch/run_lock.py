"""One process at a time in a run folder: an OS lock on the folder's ``.mytorch.lock``.

``mytorch train --out D`` (and ``--resume``) takes the lock before it reads or writes
anything in ``D`` and gives it back when it ends. A second process that asks for the
lock while the first holds it gets :class:`RunFolderBusyError`, whose message names the
owner (its pid, host, command and start time, which the owner writes into the lock
file). The lock is ``fcntl.flock`` on the file: the kernel drops it when its process
dies, however it dies, so a folder left by a process killed with ``kill -9`` is taken
over by the next run, which learns from the file's leftover record whose lock it was.

The lock file is not deleted while its folder holds anything else (deleting it would let
two processes lock two different files of the same name); a process that ends normally
empties it, and removes the folder again if it created it and wrote nothing there (a
run that failed at once leaves no empty folder behind). On a
platform without ``fcntl`` (Windows) nothing is locked: ``RunLock.supported`` is
False and the caller says so.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["LOCK_NAME", "RunFolderBusyError", "RunLock"]

#: The lock file in a run folder.
LOCK_NAME = ".mytorch.lock"


class RunFolderBusyError(RuntimeError):
    """Another process holds the run folder's lock."""


def _describe(owner: dict[str, Any] | None) -> str:
    """``'process 123 on host h (mytorch train --out D, started 2026-01-01 12:00:00)'``."""
    if not owner:
        return "another process (it has not written its name yet)"
    details = ", ".join(
        str(part)
        for part in (owner.get("command"), owner.get("started") and f"started {owner['started']}")
        if part
    )
    where = f" on host {owner['host']}" if owner.get("host") else ""
    return f"process {owner.get('pid', '?')}{where}" + (f" ({details})" if details else "")


def _command_line() -> str:
    """This process's command, as a user typed it: ``'mytorch train --out runs/x'``."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("__main__.py", "cli.py"):  # python -m mytorch
        program = "mytorch"
    return " ".join([program, *sys.argv[1:]])


class RunLock:
    """The lock of one run folder, held from :meth:`acquire` to :meth:`release`.

    Parameters
    ----------
    folder : str or path-like
        The run folder (created if missing).
    command : str, optional
        What the owner runs, written into the lock file for the message another process
        gets (default: this process's command line).

    Attributes
    ----------
    path : pathlib.Path
        The lock file, ``folder / LOCK_NAME``.
    supported : bool
        Whether this platform can lock (it has ``fcntl``).
    taken_over : dict or None
        After :meth:`acquire`: the record of an earlier owner that ended without
        releasing the lock (killed), or None.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, RunLock(folder) as lock:
    ...     RunLock(folder).acquire()
    Traceback (most recent call last):
    ...
    mytorch.run_lock.RunFolderBusyError: the run folder ... is in use by process ...
    """

    def __init__(self, folder: str | os.PathLike, command: str | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command if command is not None else _command_line()
        self.supported = fcntl is not None
        self.taken_over: dict[str, Any] | None = None
        self._fd: int | None = None
        self._created_folder = False

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunFolderBusyError` naming its owner.

        Returns
        -------
        RunLock
            ``self``.
        """
        if self._fd is not None:
            raise RuntimeError(f"RunLock: {self.path} is already held by this object")
        self._created_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.supported:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = self._read(fd)
            os.close(fd)
            raise RunFolderBusyError(
                f"the run folder {self.folder} is in use by {_describe(owner)}; wait for it "
                "to end or choose another --out"
            ) from None
        # A record left in the file belongs to an owner that died holding the lock.
        self.taken_over = self._read(fd) or None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Empty the lock file and give the lock back (nothing if not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            if self._created_folder and os.listdir(self.folder) == [LOCK_NAME]:
                # Still holding the lock: no one else can be writing here.
                os.unlink(self.path)
                os.rmdir(self.folder)
        except OSError:
            pass  # a folder that cannot be tidied is no error of the run
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def describe_taken_over(self) -> str:
        """A line about the lock taken over from a killed owner, or ``''``."""
        if not self.taken_over:
            return ""
        return (
            f"took over the lock of {_describe(self.taken_over)}, which ended without "
            "giving it back (killed?)"
        )

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        """The owner's record in the lock file; ``{}`` if empty or half-written."""
        try:
            data = os.pread(fd, 4096, 0)
            record = json.loads(data.decode()) if data.strip() else {}
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info: Any) -> None:
        self.release()
