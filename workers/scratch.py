"""Each worker's own temporary root, swept at start and after a lost pool child.

Stan leaves files behind whenever the process running it dies: Prophet's
output directory (``tivcast-prophet-*``, removed by a ``with`` block that a
SIGKILL never finishes) and cmdstanpy's ``tmp*`` directory (made at import,
removed by an ``atexit`` hook that a forked pool child never runs, killed or
not). So no worker process writes temporary files into the shared temporary
directory: a worker node owns ``$TMPDIR/tivcast-worker-<node name>/``
(:func:`root_for`), its main process uses ``main/`` in it and each pool child
``child-<pid>/`` (``TMPDIR`` and :data:`tempfile.tempdir` point there, so
Prophet and cmdstanpy follow). The root is

* emptied when the worker starts (what a killed predecessor of the same node
  name left), before any child exists;
* swept on every heartbeat (:meth:`TempRoot.sweep`): the directory of a child
  that is no longer this worker's child (killed, or replaced after
  ``max_memory_per_child``) is removed, so a lost child's files are gone
  within ``heartbeat_seconds``;
* removed when the worker shuts down.

An API in embedded mode (:mod:`workers.embedded`) keeps its pool's files under
``$TMPDIR/tivcast-embedded-<its pid>-<n>/`` (:func:`embedded_root`); a start removes
the roots whose API process is gone (killed: its shutdown never removed them).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = ["ROOT_ENV", "TempRoot", "embedded_root", "root_for", "sweep_embedded_roots"]

log = logging.getLogger(__name__)
ROOT_ENV = "TIVCAST_WORKER_TEMP_ROOT"  # set once the root is prepared: the main process never wipes it twice
MAIN = "main"
CHILD = re.compile(r"^child-(\d+)$")
EMBEDDED = re.compile(r"^tivcast-embedded-(\d+)-\d+$")
_EMBEDDED_SERIAL = itertools.count(1)  # several embedded services in one process (tests) each get a root


def root_for(hostname: str, base: str | None = None) -> Path:
    """The temporary root of worker node ``hostname`` (under ``base``, default the temporary directory)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", hostname)
    return Path(base or tempfile.gettempdir()) / f"tivcast-worker-{safe}"


def sweep_embedded_roots(base: str | None = None) -> list[str]:
    """Remove the embedded roots (``tivcast-embedded-<pid>-<n>``) of API processes that are gone; what was removed.
    A root whose pid is alive is left alone, whoever has that pid now."""
    removed = []
    parent = Path(base or tempfile.gettempdir())
    for entry in parent.glob("tivcast-embedded-*"):
        match = EMBEDDED.match(entry.name)
        if match is None or _parent_of(int(match.group(1))) is not None:  # not ours, or its process is alive
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    if removed:
        log.info("temporary files of gone API processes removed: %s", ", ".join(sorted(removed)))
    return removed


def embedded_root(base: str | None = None) -> Path:
    """A new embedded root of this API process, ``tivcast-embedded-<pid>-<n>`` under ``base`` (default the
    temporary directory; ``n`` counts the roots this process made), made empty (a gone process with the same pid
    may have left it); a private temporary directory instead if that name is taken by something else (a
    symlink, another user's directory)."""
    parent = Path(base or tempfile.gettempdir())
    root = parent / f"tivcast-embedded-{os.getpid()}-{next(_EMBEDDED_SERIAL)}"
    if root.is_dir() and not root.is_symlink() and root.stat().st_uid == os.getuid():
        shutil.rmtree(root, ignore_errors=True)
    try:
        root.mkdir(mode=0o700)
    except OSError:
        return Path(tempfile.mkdtemp(prefix="tivcast-embedded-", dir=parent))
    return root


def _use(directory: Path) -> None:
    """Make ``directory`` this process's temporary directory (for tempfile, and for programs it starts)."""
    os.environ["TMPDIR"] = str(directory)
    tempfile.tempdir = str(directory)


def _parent_of(pid: int) -> int | None:
    """The parent pid of a live process, or ``None`` if there is none (gone, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
    return None if fields[0] in ("Z", "X") else int(fields[1])


class TempRoot:
    """The temporary root of one worker node; created in its main process, before the pool starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.owner = os.getpid()

    @classmethod
    def for_worker(cls, hostname: str) -> TempRoot:
        """The root of this worker process: the one already prepared (``tivcast worker`` prepares it before
        the model stack is imported), else a new one for ``hostname``, prepared now."""
        prepared = os.environ.get(ROOT_ENV)
        if prepared:
            return cls(Path(prepared))
        root = cls(root_for(hostname))
        root.prepare()
        return root

    def prepare(self) -> None:
        """Empty the root (leftovers of an earlier run of this node) and move the main process into it."""
        shutil.rmtree(self.path, ignore_errors=True)
        (self.path / MAIN).mkdir(parents=True)
        os.environ[ROOT_ENV] = str(self.path)
        _use(self.path / MAIN)

    def enter_child(self) -> Path:
        """In a new pool child: a directory of its own (a dead child's with the same pid is removed first)."""
        directory = self.path / f"child-{os.getpid()}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        _use(directory)
        return directory

    def sweep(self) -> list[str]:
        """Remove the directories of children that are gone, and anything else but ``main``; what was removed."""
        removed: list[str] = []
        try:
            entries = list(self.path.iterdir())
        except OSError:
            return removed
        for entry in entries:
            match = CHILD.match(entry.name)
            if entry.name == MAIN or (match and _parent_of(int(match.group(1))) == self.owner):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
        if removed:
            log.info("temporary files of lost processes removed: %s", ", ".join(sorted(removed)))
        return removed

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
