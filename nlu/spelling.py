"""Typo repair for the few words the rules depend on, by symmetric-delete lookup.

A customer who types "отпиштие" or "unsubscibe" still means it. Each word of five letters
or more that is not a known word is replaced by the one key word within one edit of it
(insert, delete, substitute; swaps come out as two edits and are matched on deletes), if
exactly one key word is that close. Only the words below are ever produced, so ordinary
vocabulary is left alone; real words that sit one edit from a key word are listed in
`_REAL_NEIGHBOURS` so they are never "repaired".
"""

from __future__ import annotations

import re
from functools import lru_cache

_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")


def squeeze(word: str) -> str:
    """Collapse repeated letters, as `nlu.text.squeeze` does (kept here to avoid a cycle)."""
    return _REPEATED_LETTER.sub(r"\1", word)


_KEY_WORDS = """
отпишите отписаться отписать отписка отписывать отписывайте отпишитесь отписываюсь рассылку
рассылки рассылка рассылок пишите писать присылайте присылать отправляйте отправлять шлите
уведомления уведомлений сообщения сообщений спамить хватит надоели достали задолбали
прекратите прекратить перестаньте удалите уберите исключите отключите подпишите подписаться
верните возобновите включите снова обратно больше
сколько почему зачем когда подскажите скажите перезвоните позвоните свяжитесь помогите
уточните доставка доставку заказом заказа привезут приедет курьер оплатить вернуть перенести
пятерку пятерка пятерочка пятерочку четверку четверка четверочка четверочку троечку тройку
тройка троечка двойка двойку единица десять четыре восемь девять звезды звезд баллов
unsubscribe remove messages message texting sending spamming subscribe resubscribe resume
notifications contact please again stars three seven eight where which could would
otpishite otpisatsya otpisat otpiska rassylku rassylki pishite pisat prisylaite hvatit
khvatit dostali zadolbali prekratite udalite podpishite vernite vozobnovite obratno snova
bolshe skolko pochemu kogda podskazhite skazhite perezvonite pomogite dostavka zakazom
pyaterku pyaterka chetverku chetverka troika chetyre desyat zvezd ballov spasibo privet
подъезд квартира этаж podezd kvartira etazh
"""
# Real words one edit from a key word: never rewrite these.
_NEIGHBOUR_WORDS = """
пишете пишет писала писали присылаете присылает шлете снова снега больше больно сообщение
когда-то почем звезда звезду хватило хватает достала достало достать достали надоело
перестал удалили удалила уберут верните вернете вернуть вернут заказы заказу заказе
восемь девять десяти четыре снова обратно messaged massage sender sendings contacts
stores three there where whose could would should again agains stairs starts start
"""
_REAL_NEIGHBOURS = frozenset(squeeze(w) for w in _NEIGHBOUR_WORDS.split())
_KEYS = frozenset(squeeze(w) for w in _KEY_WORDS.split())
_WORD = re.compile(r"[^\W\d_]{5,}")


def _deletes(word: str) -> set[str]:
    """The word and every string one deleted letter away from it."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _build_index() -> dict[str, set[str]]:
    """Map each key word and its one-letter deletions to the key words they come from."""
    index: dict[str, set[str]] = {}
    for key in _KEYS:
        for variant in _deletes(key):
            index.setdefault(variant, set()).add(key)
    return index


_INDEX = _build_index()


@lru_cache(maxsize=65536)
def _repair_word(word: str) -> str:
    """The key word a long word is a typo of, or the word itself."""
    if word in _KEYS or word in _REAL_NEIGHBOURS:
        return word
    matches: set[str] = set()
    for variant in _deletes(word):
        matches |= _INDEX.get(variant, set())
    matches = {m for m in matches if abs(len(m) - len(word)) <= 1}
    return matches.pop() if len(matches) == 1 else word


def repair(folded: str) -> str:
    """Repair typos of key words in a folded text (see the module docstring)."""
    return _WORD.sub(lambda m: _repair_word(m.group(0)), folded)
