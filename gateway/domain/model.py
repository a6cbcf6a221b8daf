"""Campaign and contact records as the domain sees them (no storage, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class CampaignStatus(StrEnum):
    IMPORTING = "importing"  # contacts still streaming in; invisible to the API
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"

    @property
    def terminal(self) -> bool:
        return self in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED)


class ContactStatus(StrEnum):
    PENDING = "pending"
    ORIGINATED = "originated"
    CONNECTED = "connected"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (ContactStatus.COMPLETED, ContactStatus.FAILED, ContactStatus.CANCELLED)


CONTACT_STATUSES: tuple[str, ...] = tuple(s.value for s in ContactStatus)


class CampaignKey(NamedTuple):
    """What names one campaign everywhere outside its own table: streams, the event bus and
    the dispatcher's state. Never the row's pk, which a deleted campaign's successor could
    be given."""

    tenant_id: int
    campaign_id: str  # the public id (a UUID, never reused)


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    max_concurrent_calls: int
    max_calls_per_second: float


@dataclass
class Counts:
    total: int = 0
    pending: int = 0
    originated: int = 0
    connected: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def in_flight(self) -> int:
        return self.originated + self.connected

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "pending": self.pending,
            "originated": self.originated,
            "connected": self.connected,
            "completed": self.completed,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }


@dataclass
class Campaign:
    pk: int
    id: str
    tenant_id: int
    name: str
    status: CampaignStatus
    agent_id: str
    phone_number_id: str
    max_concurrent_calls: int
    retries_per_contact: int
    retry_delay_seconds: int
    max_calls_per_second: float | None
    ring_timeout_seconds: int
    timezone: str
    window_start: str | None
    window_end: str | None
    scheduled_at: str | None
    created_at: str
    started_at: str | None
    completed_at: str | None
    created_by: str
    custom_field_names: list[str] = field(default_factory=list)
    duplicates: int = 0
    retry_on: frozenset[str] = frozenset({"busy", "no_answer", "congestion", "failed"})
    zone_sets: list[tuple[str, ...]] = field(default_factory=list)  # a contact's by index
    amd: bool = False  # answering-machine detection on
    machine_agent_id: str | None = None
    dnc_at_upload: int = 0
    counts: Counts = field(default_factory=Counts)
    attempts_made: int = 0
    answered: int = 0
    talk_seconds_total: float = 0.0
    amd_verdicts: int = 0  # answered AMD calls with an answered_by (unknown included)
    machines: int = 0  # of them, answered by a machine

    @property
    def machine_rate(self) -> float | None:
        return round(self.machines / self.amd_verdicts, 4) if self.amd_verdicts else None

    @property
    def key(self) -> CampaignKey:
        return CampaignKey(self.tenant_id, self.id)

    @property
    def answer_rate(self) -> float | None:
        return round(self.answered / self.attempts_made, 4) if self.attempts_made else None

    @property
    def average_talk_seconds(self) -> float | None:
        completed = self.counts.completed
        return round(self.talk_seconds_total / completed, 2) if completed else None
