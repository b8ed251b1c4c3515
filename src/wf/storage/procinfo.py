"""Owner-process identity: host name, PID liveness and process start times.

See docs/resume.md#interruption-detection.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: Two start-time readings of one process may differ by this much (boot-time rounding).
START_TIME_TOLERANCE = timedelta(seconds=1)
#: Where start times cannot be read, a heartbeat older than this means the owner is gone.
HEARTBEAT_LIMIT = timedelta(seconds=30)
# A plain str, so the type checker checks every platform branch instead of pruning them.
_PLATFORM: str = sys.platform


def hostname() -> str:
    """This host's name, as recorded in ``runs.owner_host``."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)  # what gethostname(2) returns, without importing socket
    import socket  # only here: the module costs milliseconds to import

    return socket.gethostname()


def _linux_stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    _, _, rest = data.rpartition(")")
    fields = rest.split()
    return fields or None


def _linux_boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _macos_start_time(pid: int) -> datetime | None:
    try:
        out = subprocess.run(
            ["/bin/ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            env={"LC_ALL": "C", "PATH": "/bin:/usr/bin"},
            check=False,
        ).stdout.strip()
        if not out:
            return None
        local = datetime.strptime(" ".join(out.split()), "%a %b %d %H:%M:%S %Y")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return local.astimezone(UTC)


def process_start_time(pid: int) -> datetime | None:
    """When process PID started (aware UTC), or None if it does not exist or the platform
    cannot tell. Linux reads /proc; macOS asks ps (one-second resolution)."""
    if pid <= 0:
        return None
    if _PLATFORM.startswith("linux"):
        fields = _linux_stat_fields(pid)
        boot = _linux_boot_time()
        if fields is None or boot is None or len(fields) < 20:
            return None
        try:
            ticks = int(fields[19])  # field 22 of stat(5): starttime, in clock ticks
            seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
        except (ValueError, OSError):
            return None
        return datetime.fromtimestamp(seconds, UTC)
    if _PLATFORM == "darwin":
        return _macos_start_time(pid)
    return None


def _windows_pid_exists(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = getattr(ctypes, "WinDLL")("kernel32", use_last_error=True)  # noqa: B009
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        last_error = getattr(ctypes, "get_last_error")()  # noqa: B009
        return bool(last_error == 5)  # ERROR_ACCESS_DENIED: it exists, but is not ours
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return bool(code.value == 259)  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def pid_exists(pid: int) -> bool:
    """Whether a live process PID exists (a zombie counts as gone)."""
    if pid <= 0:
        return False
    if _PLATFORM == "win32":  # pragma: no cover - os.kill(pid, 0) would terminate it
        return _windows_pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, but belongs to someone else
    except OSError:
        return False
    if _PLATFORM.startswith("linux"):
        fields = _linux_stat_fields(pid)
        if fields is not None and fields[0] in ("Z", "X"):
            return False
    return True


def current_owner() -> tuple[int, str, datetime | None]:
    """The owner fields of this process: (pid, host, start time)."""
    pid = os.getpid()
    return pid, hostname(), process_start_time(pid)


def owner_gone(
    pid: int,
    started_at: datetime | None,
    last_seen: datetime | None,
    *,
    now: datetime,
    exists: Callable[[int], bool] = pid_exists,
    start_time: Callable[[int], datetime | None] = process_start_time,
) -> bool:
    """Whether the owner process recorded as (PID, STARTED_AT) is gone.

    See docs/resume.md#interruption-detection.

    Gone: no process PID; or its start time differs from STARTED_AT by more than 1 s (the PID
    was reused); or, when start times cannot be compared, LAST_SEEN (the heartbeat) is older
    than 30 s or unknown.
    """
    if not exists(pid):
        return True
    actual = start_time(pid) if started_at is not None else None
    if started_at is not None and actual is not None:
        return abs(actual - started_at) > START_TIME_TOLERANCE
    return last_seen is None or now - last_seen > HEARTBEAT_LIMIT
