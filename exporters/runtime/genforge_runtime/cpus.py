"""How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

``os.cpu_count()`` counts the machine's CPUs; a container limited to 1.5 CPUs, or a process
pinned with ``taskset``, may use fewer. Thread pools sized past what the process may use
wait on each other while the kernel runs someone else.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cpu_count() -> int:
    """The most threads worth running: the machine's CPUs (more only wait for each other)."""
    return os.cpu_count() or 1


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by its cgroup quota (rounded up)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = cpu_count()
    quota = cgroup_quota()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def cgroup_quota(root: Path = CGROUP_ROOT, membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """The smallest CPU quota (in CPUs) of this process's cgroup and its ancestors; None without one."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    names: tuple[str, ...]
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2: cpu.max holds "QUOTA PERIOD" or "max PERIOD"
            base, names = root / "unified" if (root / "unified").is_dir() else root, ("cpu.max",)
        elif "cpu" in controllers.split(","):  # cgroup v1: the CFS quota and period in two files
            base, names = root / controllers, ("cpu.cfs_quota_us", "cpu.cfs_period_us")
        else:
            continue
        quotas += [q for q in (_quota(base / p, names) for p in _ancestors(path)) if q is not None]
    return min(quotas, default=None)


def _ancestors(path: str) -> list[str]:
    """``/a/b`` -> ``["a/b", "a", ""]``: a cgroup's path and its parents', relative to the mount."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]


def _quota(folder: Path, names: tuple[str, ...]) -> float | None:
    """The quota in CPUs that ``folder`` sets, or None when it sets none (or cannot be read)."""
    try:
        values = [(folder / name).read_text().split() for name in names]
        if len(names) == 1:
            quota, period = values[0][0], values[0][1]
        else:
            quota, period = values[0][0], values[1][0]
        if quota in ("max", "-1") or float(period) <= 0:
            return None
        return float(quota) / float(period)
    except (OSError, IndexError, ValueError):
        return None
