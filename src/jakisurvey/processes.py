"""The tools a run starts (pandoc, Quarto): each in a process group of its own, stopped with
everything it started when the run is interrupted, so none writes on into a folder being
removed."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


def run(command: list[str], input: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    """Run a tool to its end and capture its text output (as subprocess.run would); on any
    exception (an interrupt included) its whole process group is killed first."""
    process = subprocess.Popen(command, cwd=cwd, text=True, start_new_session=True,
                               stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with _lock:
        _running.add(process)
    try:
        out, err = process.communicate(input)
    except BaseException:
        stop(process)
        raise
    finally:
        with _lock:
            _running.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


GRACE = 5.0   # seconds a tool has to stop cleanly (Quarto removes its temporary folders)


def stop(process: subprocess.Popen) -> None:
    """Stop a tool and everything it started: an interrupt to its process group (as Ctrl-C
    in a terminal: Quarto then removes its temporary folders), then a kill for what is left."""
    signal_group(process, signal.SIGINT)
    try:
        process.wait(GRACE)
    except subprocess.TimeoutExpired:
        pass
    signal_group(process, signal.SIGKILL)
    process.wait()


def signal_group(process: subprocess.Popen, number: int) -> None:
    """Send a signal to a tool's process group (gone already: nothing to do)."""
    try:
        os.killpg(process.pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Kill every tool still running (other threads wait on them): the run is stopping."""
    with _lock:
        running = list(_running)
    for process in running:
        stop(process)
