"""Score extraction: the 1..5 rating a reply gives, in digits, words, grades or stars.

Sans-IO and rule-based: scores follow a small grammar that rules read more reliably than a
model. Input is the folded text (`nlu.text.fold`). A 10-point score maps to
`min(5, max(1, round_half_up(n / 2)))`; filled stars count one point each; a correction
("8 из 10, хотя нет, 7") takes the later score and keeps the earlier scale.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nlu.text import squeeze, squeeze_pattern

_FILLED_STARS = "★⭐🌟"
_STAR_RUN = re.compile(r"[★⭐🌟☆✩\s\ufe0f]*[★⭐🌟][★⭐🌟☆✩\s\ufe0f]*")
_ASTERISKS_ONLY = re.compile(r"^\s*(\*{1,5})\s*$")


def _rx(source: str) -> re.Pattern[str]:
    """Compile a pattern written in plain spelling against squeezed text."""
    return re.compile(squeeze_pattern(source))


_NUMBER_WORDS: dict[str, int] = {
    # Russian
    "ноль": 0,
    "один": 1,
    "одна": 1,
    "одну": 1,
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
    "пяти": 5,
    "десяти": 10,
    # English
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    # Russian in Latin letters
    "nol": 0,
    "odin": 1,
    "odna": 1,
    "dva": 2,
    "dve": 2,
    "tri": 3,
    "chetyre": 4,
    "chetire": 4,
    "4etyre": 4,
    "pyat": 5,
    "piat": 5,
    "pjat": 5,
    "shest": 6,
    "sem": 7,
    "vosem": 8,
    "devyat": 9,
    "deviat": 9,
    "desyat": 10,
    "desiat": 10,
}
_GRADES: list[tuple[str, int]] = [
    (r"единиц[ау]|единичк[ау]|кол|edinic[au]|edinits[au]|edinichk[au]", 1),
    (r"двойк[ау]|двоечк[ау]|двояк|dvoik[au]|dvoyk[au]|dvoechk[au]", 2),
    (r"тройк[ау]|троечк[ау]|трояк|troik[au]|troyk[au]|troechk[au]|troe4k[au]", 3),
    (r"четверк[ау]|четверочк[ау]|chetverk[au]|chetverochk[au]|4etverk[au]", 4),
    (
        r"пятерк[ау]|пятерочк[ау]|pyaterk[au]|pyatyork[au]|pyatork[au]|piaterk[au]"
        r"|pyaterochk[au]|pyatorochk[au]",
        5,
    ),
    (r"десятк[ау]|десяточк[ау]|desyatk[au]", 10),
]
_GRADE_RX = [(_rx(rf"(?<![\w])(?:{src})(?![\w-])"), value) for src, value in _GRADES]
_SQUEEZED_WORDS = {squeeze(word): value for word, value in _NUMBER_WORDS.items()}
_GRADE_PLACE = _rx(r"(?:\b(?:в|во|у|из|около|возле|карт[аыуе]|картой|v|u|iz)\s+)$")

_NUMBER = re.compile(r"(?<![\w.,:/#№+-])(\d+(?:[.,]\d)?)(?![\w:]|[.,]\d|-\d|/\d\d\d)")
_WORD_NUMBER = re.compile(
    r"(?<![\w])(" + "|".join(sorted(_SQUEEZED_WORDS, key=len, reverse=True)) + r")(?![\w])"
)

_SCALE_AFTER = _rx(r"^\s*(?:/|из|iz|of|out of|outta)\s*(5|10|пяти|десяти|five|ten|pyati|desyati)\b")
_CUE_AFTER = _rx(
    r"^\s*(?:\+|-(?!\d)|с плюсом|с минусом|звезд\w*|звезды|звезда|балл\w*|stars?|points?|pts"
    r"|zvezd\w*|ball\w*|из|iz|out of|of)"
)
_CUE_BEFORE = _rx(
    r"\b(?:оцен\w*|ставл\w*|постав\w*|став\w*|даю|дам|балл\w*|твердая|твердую|уверенная"
    r"|честная|честную|чистая|чистую|solid|rate\w*|rating|score|give|gave|i'd give|a|my"
    r"|ocen\w*|stavl\w*|postav\w*|tverd\w*)(?:\s+(?:it|them|you|him|her|us|вам|им|ему|ей|this))?"
    r"\s*[:\-—]?\s*$"
)
_BLOCK_BEFORE = _rx(
    r"(?:\b(?:кв|квартир\w*|дом|д|подъезд\w*|под|этаж\w*|офис\w*|корпус|корп|к|стр|строение"
    r"|заказ\w*|номер\w*|в|во|до|после|с|со|через|около|примерно|код\w*|пин|ул|улиц\w*"
    r"|кабинет\w*|каб|окн\w*|мест\w*|ряд|чек\w*|карт\w*|трек\w*|заканчива\w*|за|по|от"
    r"|order|apt|apartment|flat|room|suite|house|floor|entrance|gate|at|by|in|until|after"
    r"|before|around|about|code|pin|street|st|seat|row|no|number|track|card|ending|for|from"
    r"|to|within|kv|dom|etazh|zakaz|cherez|posle|do|v|s|из|iz|of|podezd|podjezd|kvartira)\.?|[#№+$€₽/])\s*$"
)
_BLOCK_AFTER = _rx(
    r"^\s*(?:мин\w*|час\w*|ч\b|сек\w*|дн\w*|день|дня|недел\w*|месяц\w*|год\w*|лет|руб\w*"
    r"|р\b|р\.|₽|\$|€|usd|евро|долл\w*|шт\w*|%|процент\w*|кг|г\b|км|м\b|метр\w*|этаж\w*"
    r"|подъезд\w*|кв\b|дом\w*|числ\w*|-?го\b|-?й\b|-?я\b|-?е\b|раз\b|раза|человек\w*|утра"
    r"|вечера|ночи|коробк\w*|пакет\w*|посылк\w*|товар\w*|заказ\w*|позици\w*|вопрос\w*"
    r"|min\w*|hour\w*|hrs?\b|h\b|sec\w*|days?|weeks?|months?|years?|rub\w*|pieces|pcs|items?"
    r"|times|people|pm|am|o'clock|boxes|box|packages?|orders?|questions?|minut\w*|chas\w*"
    r"|dn\w*|rub\w*|sht\w*|utra|vechera|nochi|etazh\w*|podezd\w*|[.,:]\d)"
)
_POLITE_TAIL = _rx(r"^\s*(?:please|thanks|thank you|thx|спасибо|пожалуйста|spasibo|pozhaluista)\b")
_ON_GRADE = _rx(r"\b(?:на|na)\s*$")
_CORRECTION = _rx(
    r"(?:хотя нет|хотя|нет,|нет\s|вернее|точнее|то есть|тоесть|исправлюсь|исправляю|поправка"
    r"|ой|no wait|wait|actually|i mean|make it|scratch that|correction|rather|hotya net|hotya"
    r"|vernee|tochnee)"
)


@dataclass(frozen=True, slots=True)
class Score:
    """A score found in a reply: its value and scale, where it is, and how it was signalled.

    `kind` is "explicit" (a scale, cue word or grade), "lone" (the number is the whole
    reply: a score in a survey, maybe a menu choice elsewhere), "edge" (digits opening or
    closing a longer reply) or "word-edge" (a number word there, "спасибо, пять": trusted in
    surveys, or as the correction of an earlier score).
    """

    value: float
    scale: int | None
    start: int
    end: int
    kind: str

    def to_rating(self, scale: int | None = None) -> int | None:
        """Map to 1..5; a 10-point score (explicit or above 5) is halved, rounding half up."""
        scale = self.scale or scale or (10 if self.value > 5 else 5)
        if self.value > scale:
            return None
        points = self.value / 2 if scale == 10 else self.value
        return min(5, max(1, math.floor(points + 0.5)))


def extract_rating(folded: str, bare_numbers: bool = True) -> int | None:
    """Return the 1..5 score the reply gives, or None; bare numbers count only when allowed."""
    stars = _stars(folded)
    if stars is not None:
        return stars
    scores = sorted(_scores(folded), key=lambda s: s.start)
    trusted = {"explicit", "edge", "lone", "word-edge"} if bare_numbers else {"explicit", "edge"}
    allowed = [s for s in scores if s.kind in trusted]
    if not allowed:
        return None
    first = next((s for s in allowed if s.kind == "explicit"), allowed[0])
    corrections = [m.end() for m in _CORRECTION.finditer(folded) if m.start() >= first.end]
    if corrections:
        later = [s for s in scores if s.start >= corrections[-1]]
        if later:
            return later[0].to_rating(first.scale)
    return first.to_rating()


def _stars(folded: str) -> int | None:
    """Filled stars count one point each (an empty star counts nothing), at most 5."""
    run = _STAR_RUN.search(folded)
    if run:
        filled = sum(1 for ch in run.group(0) if ch in _FILLED_STARS)
        total = filled + run.group(0).count("☆") + run.group(0).count("✩")
        if total == 10:
            return min(5, max(1, math.floor(filled / 2 + 0.5)))
        return min(5, filled)
    asterisks = _ASTERISKS_ONLY.match(folded)
    return len(asterisks.group(1)) if asterisks else None


def _scores(folded: str) -> list[Score]:
    """Every digit, number word or school grade that may read as a score where it stands."""
    found: list[Score] = []
    for rx, value in _GRADE_RX:
        for m in rx.finditer(folded):
            if not _GRADE_PLACE.search(folded[: m.start()]):
                found.append(Score(value, 10 if value == 10 else 5, m.start(), m.end(), "explicit"))
    for m in _NUMBER.finditer(folded):
        digits = float(m.group(1).replace(",", "."))
        score = _number_score(folded, m.start(1), m.end(1), digits, word=False)
        if score is not None:
            found.append(score)
    for m in _WORD_NUMBER.finditer(folded):
        number = _SQUEEZED_WORDS[m.group(1)]
        score = _number_score(folded, m.start(1), m.end(1), number, word=True)
        if score is not None:
            found.append(score)
    return found


def _number_score(folded: str, start: int, end: int, value: float, word: bool) -> Score | None:
    """Judge one number by its neighbours: a scale or cue makes a score, a unit or place not."""
    before, after = folded[max(0, start - 24) : start], folded[end : end + 24]
    scale = _SCALE_AFTER.match(after)
    if scale:
        top = 10 if scale.group(1) in ("10", "десяти", "ten", "desyati") else 5
        return Score(value, top, start, end, "explicit")
    if value > 10 or _BLOCK_AFTER.match(after) or _BLOCK_BEFORE.search(before):
        return None
    if _CUE_AFTER.match(after) or _CUE_BEFORE.search(before):
        return Score(value, None, start, end, "explicit")
    if not _edge_position(before, after):
        return None
    if _ON_GRADE.search(before):
        return Score(value, None, start, end, "explicit")
    if not re.search(r"\w", folded[:start] + folded[end:]):
        return Score(value, None, start, end, "lone")
    return Score(value, None, start, end, "word-edge" if word and value < 2 else "edge")


def _edge_position(before: str, after: str) -> bool:
    """A bare number stands alone, opens a reply before punctuation, or closes it."""
    head, tail = before.strip(), _POLITE_TAIL.sub("", after).strip()
    opens = head == "" and (tail == "" or not tail[0].isalnum())
    closes = tail.strip(".!)") == "" or not tail[0].isalnum()
    return opens or (closes and (head == "" or not head[-1].isdigit()))
