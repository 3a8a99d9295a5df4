"""The campaign request: what a client may ask for, checked field by field (unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from hub.api.schemas import Body, RouteLeg
from hub.campaigns.window import DayWindow

#: Largest audience given as a phone list in the request (groups and segments have no such cap).
MAX_PHONES = 100_000


class VariantIn(Body):
    """One A/B variant: a template and the share of the audience that gets it."""

    template_id: str = Field(min_length=1, max_length=64)
    share: float = Field(gt=0, le=1)


class AudienceIn(Body):
    """Who the campaign is for: groups, segments and phones, united (each contact once)."""

    groups: list[str] = Field(default_factory=list, max_length=100)
    segments: list[str] = Field(default_factory=list, max_length=100)
    phones: list[str] = Field(default_factory=list, max_length=MAX_PHONES)

    @model_validator(mode="after")
    def _someone(self) -> AudienceIn:
        if not (self.groups or self.segments or self.phones):
            raise ValueError("name at least one group, segment or phone")
        return self


class WindowIn(Body):
    """The customer's local hours to send in, e.g. {"from": "10:00", "to": "20:00"}."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @model_validator(mode="after")
    def _times(self) -> WindowIn:
        DayWindow.parse(self.start, self.end)  # its ValueError names local_window.from / .to
        return self

    def window(self) -> DayWindow:
        """The parsed window."""
        return DayWindow.parse(self.start, self.end)


class CapIn(Body):
    """At most `max` marketing messages per contact per `per_days` days, across campaigns."""

    max: int = Field(ge=1, le=100)
    per_days: int = Field(ge=1, le=365)


class CampaignIn(Body):
    """`POST /v1/campaigns`."""

    name: str = Field(min_length=1, max_length=200)
    template_id: str | None = Field(default=None, min_length=1, max_length=64)
    variants: list[VariantIn] | None = Field(default=None, min_length=1, max_length=10)
    audience: AudienceIn
    params: dict[str, str | int | float] = Field(default_factory=dict)
    send_at: Annotated[datetime | None, Field(strict=False)] = None
    local_window: WindowIn | None = None
    #: Marketing keeps the client's quiet hours unless this is false.
    quiet_hours: bool = True
    throttle_per_second: float | None = Field(default=None, gt=0, le=10_000)
    frequency_cap: CapIn | None = None
    route: list[RouteLeg] | None = Field(default=None, min_length=1, max_length=4)
    #: For `service` templates: the customer action the announcement follows (anti-spam rule).
    action_at: Annotated[datetime | None, Field(strict=False)] = None

    @model_validator(mode="after")
    def _one_content(self) -> CampaignIn:
        if (self.template_id is None) == (self.variants is None):
            raise ValueError("give either template_id or variants")
        if self.variants is not None:
            total = sum(v.share for v in self.variants)
            if abs(total - 1) > 1e-6:
                raise ValueError(f"variants: shares add up to {total:g}, not 1")
            ids = [v.template_id for v in self.variants]
            if len(set(ids)) != len(ids):
                raise ValueError("variants: each template may appear once")
        return self

    @field_validator("send_at", "action_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-12-04T10:00:00+03:00")
        return value

    def shares(self) -> list[tuple[str, float]]:
        """The variants as (template id, share); one template is one variant with the whole audience."""
        if self.variants is not None:
            return [(v.template_id, v.share) for v in self.variants]
        assert self.template_id is not None
        return [(self.template_id, 1.0)]
