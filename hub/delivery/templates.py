"""Templates: `#name#` placeholders, rendering, and the automatic moderation checks (pure).

The checks follow the platforms' anti-spam rules: a service message must be about the
customer's own action, and advertising is tolerated only in its "tail" (the last sentence).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hub.errors import RequestError

CATEGORIES = ("otp", "transactional", "service", "marketing")
CONTEXTS = ("survey", "promo", "delivery", "order_status", "payment", "appointment")
MAX_LENGTH = 4096
PLACEHOLDER = re.compile(r"#([A-Za-z_][A-Za-z0-9_]*)#")
_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(ru|com|рф|net|org|me|su)\b|vk\.me/|t\.me/)", re.I)
_ADVERTISING = re.compile(
    r"(скидк|акци[яи]|бонус|распродаж|промокод|выгодн|купи|подарок|sale\b|discount|promo|bonus|offer)",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


#: Checks whose failure rejects a template without waiting for an operator.
HARD_CHECKS = frozenset({"not_empty", "length"})


@dataclass(frozen=True)
class Check:
    """One automatic moderation check and its outcome."""

    name: str
    passed: bool
    detail: str = ""

    @property
    def hard(self) -> bool:
        """A failure of this check rejects the template at once."""
        return self.name in HARD_CHECKS


def placeholders(text: str) -> list[str]:
    """Placeholder names in order of first appearance."""
    seen: dict[str, None] = {}
    for name in PLACEHOLDER.findall(text):
        seen.setdefault(name, None)
    return list(seen)


def render(text: str, params: Mapping[str, object]) -> str:
    """Fill every placeholder; missing or unknown params are one `bad_params` error naming them."""
    names = placeholders(text)
    missing = [n for n in names if n not in params]
    unknown = [k for k in params if k not in names]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        raise RequestError("bad_params", "template params: " + "; ".join(parts))
    return PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), text)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def moderate(text: str, category: str) -> list[Check]:
    """The automatic checks, shown to the operator who decides (hard failures reject at once)."""
    body = text.strip()
    checks = [
        Check("not_empty", bool(body), "" if body else "the text is empty"),
        Check("length", len(text) <= MAX_LENGTH, f"{len(text)} of at most {MAX_LENGTH} characters"),
    ]
    if category != "marketing":
        head = " ".join(_sentences(PLACEHOLDER.sub("x", body))[:-1])
        link = _LINK.search(head)
        checks.append(
            Check(
                "links_in_tail",
                link is None,
                f"link {link.group(0)!r} before the last sentence" if link else "",
            )
        )
        ad = _ADVERTISING.search(head)
        checks.append(
            Check(
                "ads_in_tail",
                ad is None,
                f"advertising {ad.group(0)!r} before the last sentence" if ad else "",
            )
        )
    return checks


def rejection(checks: list[Check]) -> str | None:
    """The automatic rejection reason (hard checks failed), or None: then an operator decides."""
    bad = [c.detail or c.name for c in checks if not c.passed and c.hard]
    return "; ".join(bad) if bad else None
