"""Who lives in the sandbox: the configured customers, and a generated one behind every +7 999 1xx xx xx.

Any number from +79991000000 to +79991999999 is a sandbox customer whose behaviour follows from a
SHA-256 of the number, so campaigns of 100,000 contacts can be rehearsed without configuring
anyone and without storing anything per customer (a look-up is a hash and a few comparisons).
The configured customers (`sandbox.customers`) keep their behaviour and win over the generated
ones. The spread, chosen to look like a Russian e-commerce audience:

    channels    60% VK (a fifth of them also on Telegram), 8% Telegram only, 7% OK only,
                20% SMS only (no messenger), 5% unreachable everywhere (SMS fails)
    activity    80% of messenger accounts were active within the last week (0-6 days);
                20% last 8-60 days ago, so the cascade skips them (`inactive`)
    reading     50% read within 2-11 s; 25% read 1-60 min later; 15% get it but never read;
                10% never open the app (not delivered: the leg expires and SMS follows)
    SMS         delivered 1-5 s after sending (except the unreachable 5%)
    replies     of those who saw the message: 1.5% opt out ("СТОП", ...), 6% rate it (1-5),
                2% ask a question, the rest say nothing

Messenger ids are derived from the number's last six digits `n` and map back to it:
VK `700000000 + n`, OK `590000000000 + n`, Telegram `6100000000 + n`.
"""

from __future__ import annotations

import functools
import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SandboxIdentity(_Frozen):
    """A sandbox customer's account on one messenger."""

    user_id: str
    last_active_days: float = 0
    allowed: bool = True
    #: Seconds until the platform reports delivery; None: never delivered (app never opened).
    delivers_after: float | None = 0.5
    reads_after: float | None = None


class SandboxCustomer(_Frozen):
    """A simulated customer of the sandbox network and how they behave."""

    phone: str
    name: str = ""
    vk: SandboxIdentity | None = None
    ok: SandboxIdentity | None = None
    telegram: SandboxIdentity | None = None
    #: SMS: seconds until the delivery receipt; None means the number is unreachable.
    sms_delivers_after: float | None = 1.0
    #: What the customer answers after reading (or after the SMS arrives).
    replies: str | None = None


class SandboxConfig(_Frozen):
    """The simulated VK/OK/Telegram/SMS network used by clients without connections."""

    enabled: bool = True
    poll_interval: float = 0.2
    #: Seconds each send takes, as a real platform's round trip would (0: instant).
    send_latency: float = Field(0.0, ge=0)
    customers: tuple[SandboxCustomer, ...] = ()
    #: Every +7 999 1xx xx xx number is a generated customer (see `SandboxCustomers`).
    generated: bool = True


GENERATED = re.compile(r"^\+79991(\d{6})$")
FIRST_GENERATED, LAST_GENERATED = "+79991000000", "+79991999999"
#: Messenger id = base + the number's last six digits.
ID_BASES = {"vk": 700_000_000, "ok": 590_000_000_000, "telegram": 6_100_000_000}
OPT_OUTS = ("СТОП", "Отпишите меня, пожалуйста", "stop")
RATINGS = ("5", "5, всё отлично", "4", "4 из 5, курьер немного опоздал", "3", "2, долго ждал", "1 — ужасно")
QUESTIONS = ("а когда привезут?", "Можно перенести доставку на завтра?", "where is my order?")


class _Dice:
    """Independent deterministic draws from one number's hash (16 bits each)."""

    def __init__(self, phone: str) -> None:
        self._digest = hashlib.sha256(phone.encode()).digest()

    def roll(self, slot: int, sides: int) -> int:
        """Draw number `slot`, in 0..sides-1."""
        return int.from_bytes(self._digest[2 * slot : 2 * slot + 2], "big") % sides


def _identity(channel: str, n: int, dice: _Dice) -> SandboxIdentity:
    """A messenger account: how recently it was used and how its owner reads."""
    active = dice.roll(2, 7) if dice.roll(1, 100) < 80 else 8 + dice.roll(3, 53)
    reading = dice.roll(4, 100)
    delivers: float | None = 1.0
    reads: float | None = None
    if reading < 50:
        reads = 1.0 + dice.roll(5, 10)
    elif reading < 75:
        reads = 60.0 + dice.roll(5, 3541)
    elif reading >= 90:
        delivers = None
    user_id = str(ID_BASES[channel] + n)
    return SandboxIdentity(
        user_id=user_id, last_active_days=active, delivers_after=delivers, reads_after=reads
    )


def _reply(dice: _Dice) -> tuple[str | None, str]:
    """What the customer answers after seeing a message, and a word for the name."""
    draw = dice.roll(7, 1000)
    if draw < 15:
        return OPT_OUTS[dice.roll(8, len(OPT_OUTS))], "opts out"
    if draw < 75:
        return RATINGS[dice.roll(8, len(RATINGS))], "rates"
    if draw < 95:
        return QUESTIONS[dice.roll(8, len(QUESTIONS))], "asks"
    return None, "silent"


@functools.lru_cache(maxsize=65536)
def generated_customer(phone: str) -> SandboxCustomer | None:
    """The generated customer behind a +7 999 1xx xx xx number (pure), or None for other numbers."""
    match = GENERATED.match(phone)
    if match is None:
        return None
    n, dice = int(match.group(1)), _Dice(phone)
    profile = dice.roll(0, 100)
    channels: list[str] = []
    if profile < 60:
        channels = ["vk", "telegram"] if dice.roll(9, 5) == 0 else ["vk"]
    elif profile < 68:
        channels = ["telegram"]
    elif profile < 75:
        channels = ["ok"]
    unreachable = profile >= 95
    accounts = {ch: _identity(ch, n, dice) for ch in channels}
    replies, manner = _reply(dice)
    where = "+".join(channels) or ("unreachable" if unreachable else "sms only")
    return SandboxCustomer(
        phone=phone,
        name=f"generated: {where}, {manner}",
        sms_delivers_after=None if unreachable else 1.0 + dice.roll(6, 5),
        replies=replies,
        **accounts,
    )


def generated_phone(channel: str, user_id: str) -> str | None:
    """The generated number a messenger id belongs to, or None when it is not a generated id."""
    base = ID_BASES.get(channel)
    if base is None or not user_id.isdigit():
        return None
    n = int(user_id) - base
    return f"+79991{n:06d}" if 0 <= n <= 999_999 else None


class SandboxCustomers:
    """Look-ups over the configured customers first, then the generated ones."""

    def __init__(self, configured: tuple[SandboxCustomer, ...] = (), *, generated: bool = True) -> None:
        self._by_phone = {c.phone: c for c in configured}
        self._generated = generated
        self._by_identity: dict[tuple[str, str], SandboxCustomer] = {}
        for customer in configured:
            for channel in ID_BASES:
                ident = getattr(customer, channel)
                if ident is not None:
                    self._by_identity[(channel, ident.user_id)] = customer

    def by_phone(self, phone: str) -> SandboxCustomer | None:
        """The customer with this E.164 number, or None when it is not in the sandbox."""
        found = self._by_phone.get(phone)
        if found is None and self._generated:
            found = generated_customer(phone)
        return found

    def by_identity(self, channel: str, user_id: str) -> SandboxCustomer | None:
        """The customer owning this messenger id (or phone, for SMS), or None."""
        if channel == "sms":
            return self.by_phone(user_id)
        found = self._by_identity.get((channel, user_id))
        if found is None and self._generated:
            phone = generated_phone(channel, user_id)
            candidate = self.by_phone(phone) if phone else None
            ident = getattr(candidate, channel) if candidate is not None else None
            found = candidate if ident is not None and ident.user_id == user_id else None
        return found
