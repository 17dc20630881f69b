"""The registry of background jobs: every job the platform runs, by name, in one place.

Bootstrap fills one ``JobRegistry`` (``voltfleet.jobs.platform.platform_jobs``) and hands it to the
``Jobs`` adapter it chose; adding a job is adding a ``JobSpec`` there. A job's function is a use
case that takes its dependencies and ``now``; it never reads the wall clock itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from voltfleet.ports import JobArg, JobSpec

# The platform's jobs, by name (the names are stored in the job queue: keep them stable).
OFFLINE_SWEEP = "offline-sweeper"  # devices silent past offline_after_s -> offline
COMMAND_SWEEP = "command-sweeper"  # queued commands past their expiry -> expired
MARKET_PRICES = "market-prices"  # day-ahead prices of the configured sources


def job_key(name: str, args: Mapping[str, JobArg] | None = None) -> str:
    """A job's identity, its name and arguments: as a queueing lock, deferring the same job
    with the same arguments again while one waits is a no-op (``Jobs.defer``)."""
    return f"{name}:{json.dumps(dict(args or {}), sort_keys=True, separators=(',', ':'))}"


class JobRegistry:
    """Job specifications by name; a name is registered once."""

    def __init__(self) -> None:
        self._specs: dict[str, JobSpec] = {}

    def add(self, spec: JobSpec) -> JobSpec:
        if not spec.name or spec.name != spec.name.strip():
            raise ValueError(f"a job needs a name without surrounding spaces: {spec.name!r}")
        if spec.name in self._specs:
            raise ValueError(f"job {spec.name!r} is registered already")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> JobSpec:
        """The job called ``name``; KeyError names the known jobs."""
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise KeyError(f"unknown job {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def periodic(self) -> list[JobSpec]:
        return [s for s in self._specs.values() if s.schedule is not None]
