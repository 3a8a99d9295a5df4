"""Request bodies of the audience API (contacts, groups, segments, settings); also in /openapi.json.

These check the shape; what the values mean (attribute types, the filter language, phones, zones)
is checked by `hub.contacts`, which names the field at fault the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hub.api.schemas import _Body

AttributeValue = str | int | float | bool | None


class ContactPatchIn(_Body):
    """Changes to a contact: a null attribute removes it; consent records its source and time."""

    name: str | None = Field(default=None, max_length=200)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=200)
    marketing_consent: bool | None = None
    consent_source: str | None = Field(default=None, min_length=1, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)


class GroupIn(_Body):
    """A new group."""

    name: str = Field(min_length=1, max_length=200)


class MembersIn(_Body):
    """Contacts to add to (or take out of) a group, by phone."""

    phones: list[str] = Field(min_length=1, max_length=1000)


class SegmentIn(_Body):
    """A saved filter (the language is in the README, "Audiences")."""

    name: str = Field(min_length=1, max_length=200)
    filter: dict[str, Any]


class SettingsIn(_Body):
    """The client's directory settings."""

    default_timezone: str = Field(min_length=1, max_length=64)
