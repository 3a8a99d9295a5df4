"""What a classified reply makes the hub do (pure: facts in, a plan out, no IO).

opt_out, confident        -> suppress the contact, confirm once in the customer's language
opt_out, unsure           -> ask once "Отписать вас от уведомлений? Ответьте СТОП"; the answer decides
opt_in                    -> lift the suppression and confirm
rating                    -> record the score on the notification the reply answers
question                  -> the thread needs an agent
other                     -> stored, nothing else
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPT_OUT_THRESHOLD = 0.8
ASK_TEXT = "Отписать вас от уведомлений? Ответьте СТОП"
CONFIRM = {
    ("opt_out", "ru"): "Вы отписаны от уведомлений. Чтобы снова получать их, ответьте СТАРТ.",
    ("opt_out", "en"): "You are unsubscribed from notifications. Reply START to receive them again.",
    ("opt_in", "ru"): "Вы снова подписаны на уведомления.",
    ("opt_in", "en"): "You are subscribed to notifications again.",
}
_YES = {"да", "ага", "угу", "конечно", "yes", "yep", "y", "стоп", "stop", "da"}
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def language(text: str) -> str:
    """`en` for a reply written in Latin letters only, else `ru` (the default)."""
    return "en" if _LATIN.search(text) and not _CYRILLIC.search(text) else "ru"


def is_yes(text: str) -> bool:
    """A short affirmative answer to the confirmation question."""
    return re.sub(r"[^\w]+", " ", text.lower()).strip() in _YES


@dataclass(frozen=True)
class Facts:
    """What the decision needs to know about the reply and the contact."""

    label: str
    confidence: float
    rating: int | None
    text: str
    opted_out: bool
    confirm_pending: bool
    needs_agent: bool


@dataclass(frozen=True)
class Plan:
    """The effects of one reply; `None` means "leave as is"."""

    opted_out: bool | None = None
    confirm_pending: bool | None = None
    needs_agent: bool | None = None
    record_rating: int | None = None
    send_text: str | None = None


def decide(f: Facts, threshold: float = OPT_OUT_THRESHOLD) -> Plan:
    """The plan for one classified inbound reply."""
    if f.confirm_pending and not f.opted_out and (f.label == "opt_out" or is_yes(f.text)):
        return _opt_out(f)
    pending_cleared = False if f.confirm_pending else None
    if f.label == "opt_out":
        if f.opted_out:
            return Plan(confirm_pending=pending_cleared)  # already out: never confirm twice
        if f.confidence >= threshold:
            return _opt_out(f)
        if f.confirm_pending:
            return Plan()
        return Plan(confirm_pending=True, send_text=ASK_TEXT)
    if f.label == "opt_in":
        if not f.opted_out:
            return Plan(confirm_pending=pending_cleared)
        return Plan(opted_out=False, confirm_pending=pending_cleared, send_text=confirm("opt_in", f.text))
    if f.label == "rating" and f.rating is not None:
        return Plan(confirm_pending=pending_cleared, record_rating=f.rating)
    if f.label == "question":
        return Plan(confirm_pending=pending_cleared, needs_agent=True)
    return Plan(confirm_pending=pending_cleared)


def _opt_out(f: Facts) -> Plan:
    return Plan(opted_out=True, confirm_pending=False, send_text=confirm("opt_out", f.text))


def confirm(action: str, reply_text: str) -> str:
    """The confirmation of an opt-out or opt-in, in the language of the customer's reply."""
    return CONFIRM[(action, language(reply_text))]
