"""What a doctor check reports: a Finding per check (with the repair it offers), and the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["STATUSES", "Finding", "DoctorReport", "ok"]

STATUSES = ("ok", "repaired", "warning", "skipped", "problem")


@dataclass
class Finding:
    """One check's outcome. `status` is one of STATUSES; only 'problem' fails the run."""

    check: str
    status: str
    message: str
    count: int = 0
    action: str | None = None  # what --repair does (before) or did (after repairing)
    fix: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("fix", None)
        return row


@dataclass
class DoctorReport:
    """What `run_doctor` found (after repairing, when asked) and what it did."""

    findings: list[Finding]
    actions: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def rows(self) -> list[dict[str, Any]]:
        return [f.as_row() for f in self.findings]


def ok(check: str, message: str, count: int = 0) -> Finding:
    return Finding(check, "ok", message, count)
