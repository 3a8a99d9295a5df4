"""Rule signals: opt-out and opt-in phrases with negation, questions, small talk.

Rules run on the folded text (`nlu.text.fold`: lower case, squeezed letters) and cover the
cases where a phrase list is more reliable than a model: the carrier keywords and their
Russian, English and transliterated paraphrases, negation ("не надо меня отписывать" wants
messages, "не пишите" does not), false friends ("stop by the office") and questions without
a question mark. Patterns are written in plain spelling and squeezed when compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.text import squeeze_pattern


def _rx(*alternatives: str) -> re.Pattern[str]:
    """One case-folded, squeezed regex from plain-spelled alternatives."""
    return re.compile("|".join(f"(?:{squeeze_pattern(a)})" for a in alternatives))


_NEG = r"(?:не|ни|ne|don't|dont|do not|didn't|didnt|did not|never|no need to|not)"

# Asking to be taken off the list: negating one of these asks for messages instead.
_UNSUBSCRIBE = _rx(
    r"отпис\w*",
    r"отпиш\w*",
    r"удал(?:и|ите|ять|ить|яйте)\s+(?:меня|мой\s+номер|мои\s+данные)",
    r"исключ\w*\s+(?:меня|мой)",
    r"убер(?:и|ите)\s+меня",
    r"отключ\w*\s+(?:меня|рассылк|уведомл)",
    r"\bunsub\w*",
    r"\bopt[\s-]?out\b",
    r"remove\s+(?:me|my)",
    r"take\s+me\s+off",
    r"otpi(?:sh|š|s|w)\w*",
    r"otpiš\w*",
    r"udal\w*\s+(?:menya|moi|moy)",
)
# Asking not to be written to: the negation is part of the phrase itself.
_STOP_SENDING = _rx(
    r"(?<!нажал\s)(?<!нажала\s)(?<!написал\s)(?<!написала\s)(?<!pressed\s)(?<!typed\s)"
    r"(?<!bus\s)(?<!can't\s)(?<!canot\s)(?<!won't\s)(?<!non\s)(?<!cant\s)"
    r"(?<![\w-])(?:стоп|stop)(?![\w-])(?!\s+(?:by|at|in|over|off|sign|here|there|for|on|the car"
    r"|crying|worrying|lying))",
    r"больше\s+не\s+(?:пиш|присыл|отправл|шли|слать|бесп|звон|надо\b|нужно\b|хочу|пиш)",
    r"(?<!\bесли\s)\bне\s+(?:пишите|пиши|присылайте|присылай|отправляйте|шлите|слать"
    r"|беспокойте|тревожьте)",
    r"\bне\s+(?:надо|нужно|стоит)\s+(?:мне\s+|больше\s+)*(?:писать|присылать|слать|отправлять"
    r"|смс|sms|рассылк|уведомл|спам)",
    r"\bне\s+хочу\s+(?:больше\s+)?(?:получать|ваши|ваших|никаких|рассылк|смс|уведомл|спам)",
    r"хватит\s+(?:мне\s+)?(?:писать|слать|спам|присылать|уже|названивать|рассылк)",
    r"(?:достали|задолбали|надоели|заколебали|замучили|надоело)\b",
    r"прекрат\w*\s+(?:писать|присылать|слать|рассылк|спам|отправ|это)",
    r"перестан\w*\s+(?:мне\s+)?(?:писать|присылать|слать|спамить|отправлять)",
    r"отказ\w*\s+от\s+(?:рассылк|уведомл|подписк|смс|сообщени)",
    r"отмен\w*\s+(?:рассылк|подписк|уведомл)",
    r"\bне\s+подписыва\w*",
    r"\bне\s+давал\w*\s+соглас",
    r"\bспам\w*",
    r"черн\w+\s+спис",
    r"заблокир\w*",
    r"no\s+more\s+(?:messages|texts|sms|notifications|emails|spam|of\s+this)",
    r"(?:don't|dont|do not|never)\s+(?:text|message|contact|send|email|write|msg|sms|bother)",
    r"stop\s+(?:texting|messaging|sending|spamming|contacting|writing|bothering)",
    r"leave\s+me\s+alone",
    r"quit\s+(?:texting|messaging|sending)",
    r"\bspam\w*",
    r"cancel\s+(?:my\s+)?(?:subscription|messages|notifications|alerts|texts|mailing)",
    r"\b(?:не\s+хочу|не\s+нужны|не\s+нужно)\s+(?:больше\s+)?(?:эти|ваши|никакие)?\s*(?:смс|sms"
    r"|сообщени|рассылк|уведомлени)",
    r"bol(?:sh|š|s|w)e\s+ne\s+(?:pi(?:sh|š|s|w)|prisy|prisi|otprav|(?:sh|š|s|w)lite|nado|nuzhno|bespok|zvon)",
    r"\bne\s+(?:pi(?:sh|š|s|w)ite|pi(?:sh|š|s|w)i|prisylaite|prisylayte|prisilaite|otpravlyaite|(?:sh|š|s|w)lite)",
    r"\bne\s+(?:nado|nuzhno)\s+(?:mne\s+)?(?:pisat|prisylat|slat|sms|rassylk)",
    r"\b(?:k?hvatit|khvatit)\b",
    r"\b(?:dostali|zadolbali|nadoeli)\b",
    r"prekrati\w*",
    r"ne\s+hochu\s+(?:bol(?:sh|š|s|w)e\s+)?(?:poluchat|sms|rassylk)",
    r"\brassylk\w*\s+(?:ne\s+nado|otmen)",
    r"i\s+(?:don't|dont|do not)\s+want\s+(?:these|your|any|to\s+receive|messages|texts)",
    r"(?:not|no\s+longer)\s+interested",
    r"больше\s+не\s+интерес",
    r"(?:don't|dont|do not)\s+need\s+(?:these|your|this|any)\s+(?:messages|texts|notif|sms|spam)",
)
_NEGATED_UNSUBSCRIBE = re.compile(squeeze_pattern(rf"\b{_NEG}\s+(?:\w+\s+){{0,3}}$"))
_BARE_OPT_OUT = _rx(
    r"^(?:стоп|сотп|стпо|stop|sotp|stpo|stopall|end|quit|cancel|hvatit|khvatit|хватит|enough|отписка|отписаться"
    r"|otpiska|otpisatsya|unsubscribe|unsub|spam|спам)(?:\s+(?:стоп|stop|спам|spam|all|хватит))*$",
)
_BARE_OPT_IN = _rx(
    r"^(?:старт|сатрт|стрт|start|strat|satrt|unstop|resubscribe|subscribe|opt\s?in|optin)(?:\s+(?:again|снова|opyat"
    r"|snova|хочу\s+уведомления|хочу\s+получать))?$",
)
_POLITE = re.compile(
    squeeze_pattern(
        r"\b(?:пожалуйста|плиз|please|pls|plz|pozhaluista|pozhaluysta|pozhalujsta|уже|uzhe|now"
        r"|алло|allo|здравствуйте|zdravstvuyte|zdravstvuite|добрый\s+(?:день|вечер)|dobryi\s+den"
        r"|hi|hello|hey|привет|privet|девушка|слушайте|ну|ok|ок|спасибо|spasibo|thanks|thank\s+you|я|ya|i)\b"
    )
)
_RESUBSCRIBE = _rx(
    r"подпиш\w*\s+(?:меня\s+)?(?:снова|обратно|опять|заново|на\s+(?:рассылк|уведомл|новост))",
    r"подпиш\w*\s+меня",
    r"подписат\w*\s+(?:снова|обратно|опять|заново|на\s+рассылк)",
    r"хочу\s+(?:снова|опять|обратно|дальше|и\s+дальше)\s+получать",
    r"хочу\s+подписат",
    r"верн\w*\s+(?:мне\s+)?(?:рассылк|уведомлени|смс|sms|подписк|сообщени)",
    r"возобнов\w*",
    r"включ\w*\s+(?:обратно\s+|снова\s+|мне\s+)*(?:рассылк|уведомлени|смс)",
    r"присылайте\s+(?:снова|опять|дальше|обратно)",
    r"пишите\s+(?:снова|опять|дальше)",
    r"\bre-?subscribe\w*",
    r"\bunstop\b",
    r"\bopt[\s-]?in\b",
    r"resume\s+(?:my\s+)?(?:messages|sms"
    r"|texts|notif|alerts|subscription|sending)",
    r"start\s+(?:sending|messaging|texting)",
    r"sign\s+me\s+(?:back\s+)?up",
    r"\bsubscribe\s+me",
    r"send\s+(?:me\s+)?(?:messages|texts|them|notif\w*)\s+again",
    r"(?:want|like)\s+to\s+(?:receive|get)\s+(?:\w+\s+)?(?:messages|texts|notif\w*|updates)\s+again",
    r"turn\s+(?:notifications|messages|alerts)\s+(?:back\s+)?on",
    r"podpi(?:sh|š|s|w)i\w*\s+(?:menya\s+)?(?:snova|obratno|opyat)",
    r"podpi(?:sh|š|s|w)ite\s+menya",
    r"vern\w*\s+(?:rassylk|uvedomlen|sms|podpisk)",
    r"vozobnov\w*",
    r"hochu\s+(?:snova|opyat|obratno)\s+poluchat",
    r"vkluchite|vklyuchite",
)
_UNSUBSCRIBE_FALSE_FRIENDS = _rx(r"подпиш\w*\s+(?:договор|документ|акт|бумаг|заявлен)")
_QUESTION_START = _rx(
    r"(?:^|[.!;\n]\s*|\b(?:а|и|но|ну|так|тогда|and|but|so|ok|окей|ок|hi|hello|hey|привет"
    r"|здравствуйте|добрый\s+день|добрый\s+вечер|извините|sorry|девушка|privet|dobryi\s+den"
    r"|zdravstvuyte|allo|алло|слушайте)[,\s]+)"
    r"(?:как(?!\s+(?:всегда|обычно|договаривались|и\s+обещали|надо|нужно))|когда|где|куда"
    r"|откуда|почему|зачем|отчего|что(?!\s+(?:ж|надо|нужно))|сколько|какой|какая|какое|какие"
    r"|каков\w*|кто|чей|чья|можно|могу|могли|нельзя|есть\s+ли|правда\s+ли|не\s+подскаж\w*"
    r"|подскаж\w*|скажите|уточните|объясните|расскажите|помогите|перезвон\w*|свяжитесь"
    r"|позвоните|how(?!\s+nice|\s+lovely)|when|where|why|what(?!\s+a\b)|which|who|whose"
    r"|can(?!'t|n?ot)|could(?!n't)|would(?!n't)|will(?!\s+(?:be|do)\b)|is|are|do(?!n't|\s+not)|does|did|should|may|kak|kogda|gde|pochemu|po4emu|za[cč]hem"
    r"|[cč]hto|skolko|kakoi|kakoy|kakaya|kto|mozhno|mo(?:zh|ž|z|j)no|podskazhite|podskajite|skazhite"
    r"|pomogite|perezvonite)\b",
)
_QUESTION_ANYWHERE = _rx(
    r"(?<!\bк\s)\b\w+\s+ли\b",
    r"(?:где|почему|зачем|сколько|куда|откуда|подскажите|pochemu|po4emu"
    r"|zachem|skolko|kuda|podskazhite|why|how\s+much|how\s+long|how\s+many)\s+\w+",
    r"до\s+какого|какого\s+числа|в\s+какое\s+время|что\s+(?:мне\s+)?(?:делать|теперь)",
    r"\b(?:перезвоните|свяжитесь|позвоните\s+мне|скажите|уточните|подскажите|объясните"
    r"|помогите|perezvonite|pomogite|skazhite|podskazhite)\b",
    r"\b(?:can|could|would)\s+(?:you|i|we)\b",
    r"\b(?:when|where|why|how|what|which|who)\s+(?:is|are|do|does|did|will|can|was|should"
    r"|would|could)\b",
    r"\b(?:когда|где)\s+(?:будет|будут|привезут|приедет|откро\w+|можно)",
    r"хочу\s+(?:узнать|уточнить|отменить|перенести|вернуть|изменить|поменять|оформить)",
    r"(?:нужно|надо|прошу|можно)\s+(?:\w+\s+)?(?:перенести|отменить|изменить|поменять|вернуть"
    r"|связаться|перезвонить|уточнить)",
    r"перенесите|отмените\s+(?:заказ|запись|доставк)",
    r"верните\s+(?:деньги|средства|оплату)",
    r"не\s+(?:пришел|пришла|пришло|получил\w*"
    r"|могу|доставили|привезли|списал\w*|вернули)\b",
    r"списали\s+(?:дважды|два\s+раза|лишн)",
    r"в\s+ч[её]м\s+(?:дело|проблема)",
    r"во\s+сколько|до\s+скольки",
    r"где\s+(?:мой|моя|мои)",
    r"please\s+(?:call|tell|help|advise|let\s+me\s+know|check|confirm|reschedule|cancel|change"
    r"|send\s+me\s+the|explain|contact)",
    r"i\s+need\s+(?:to|help|a|the|my)",
    r"i\s+(?:want|would\s+like|'d\s+like)\s+to\s+(?:know|cancel|change|reschedule|return"
    r"|ask|check|move)",
    r"let\s+me\s+know",
    r"tell\s+me",
    r"need\s+help",
    r"(?:haven't|have\s+not|didn't|did\s+not|never|not\s+yet)\s+(?:received|arrived|got|come)",
    r"still\s+(?:waiting|not|no)",
    r"wondering",
    r"charged\s+(?:twice|two\s+times|double)",
    r"ne\s+(?:pri(?:sh|š|s|w)(?:el|la|lo)|poluchil\w*)\b",
    r"gde\s+(?:moi|moy|moya)",
    r"\bpomogite\b",
    r"\bperezvonite\b",
    r"\bpodska(?:zh|ž|z|j)\w*",
)
_SMALL_TALK = re.compile(
    squeeze_pattern(
        r"\b(?:спасибо|спс|спасиб|благодар\w*|пасиб\w*|ок|окей|ok|okay|okey|k|хорошо|хор|понял\w*|ясно"
        r"|принято|ладно|отлично|супер|класс|здорово|круто|замечательно|прекрасно|хорошего\s+дня"
        r"|всего\s+доброго|доброго\s+дня|привет|здравствуйте|добрый\s+(?:день|вечер|утро)"
        r"|доброе\s+утро|да|ага|угу|жду|ждем|ждём|буду\s+ждать|получил\w*|пришло|пришел|пришла"
        r"|thanks?|thank\s+you|thx|ty|tnx|great|cool|nice|good|fine|got\s+it|noted|sure|yes|yep"
        r"|yeah|hi|hello|hey|bye|see\s+you|awesome|perfect|received|spasibo|spasib|sps|horosho"
        r"|ponyal\w*|ladno|privet|super|klass|otlichno|zhdu|poluchil\w*|ок\s+спасибо|и\s+вам"
        r"|вам\s+тоже|you\s+too|much|very|большое|огромное|so|вам|you|тоже|too|all|всё|все|ну|ok)\b",
    )
)
_RHETORICAL = _rx(r"\b(?:честно|серьезно|правда|да|honestly|seriously|really|chestno|serjezno)\?+")
_NON_WORD = re.compile(r"[\W\d_]+")


@dataclass(frozen=True, slots=True)
class Signals:
    """What the rules saw in one reply; the decision step weighs these against the model."""

    opt_out: bool = False
    opt_in: bool = False
    stop_false_friend: bool = False
    question: bool = False
    small_talk: bool = False
    empty: bool = False


def read_signals(folded: str) -> Signals:
    """Run every rule over a folded reply."""
    if not re.search(r"\w", folded):
        return Signals(empty=True)
    core = _core(folded)
    out_at, in_at = _opt_out_position(folded, core), _opt_in_position(folded, core)
    opt_out = out_at is not None and (in_at is None or out_at > in_at)
    opt_in = in_at is not None and not opt_out
    return Signals(
        opt_out=opt_out,
        opt_in=opt_in,
        stop_false_friend=bool(re.search(r"\bstop\b", folded)) and out_at is None,
        question=_is_question(folded),
        small_talk=_is_small_talk(folded),
    )


def _core(folded: str) -> str:
    """The reply without greetings, politeness, punctuation and emoji: "Алло, хватит!" -> "хватит"."""
    return " ".join(_POLITE.sub(" ", _NON_WORD.sub(" ", folded)).split())


def _opt_out_position(folded: str, core: str) -> int | None:
    """Where the last un-negated request to stop messages starts, if any."""
    if _BARE_OPT_OUT.match(core):
        return len(folded)
    hits = [m.start() for m in _STOP_SENDING.finditer(folded)]
    hits += [m.start() for m in _UNSUBSCRIBE.finditer(folded) if not _negated(folded, m.start())]
    return max(hits) if hits else None


def _opt_in_position(folded: str, core: str) -> int | None:
    """Where the last request for messages starts: resume phrases or a negated unsubscribe."""
    if _BARE_OPT_IN.match(core):
        return len(folded)
    hits = [m.start() for m in _RESUBSCRIBE.finditer(folded)]
    hits = [h for h in hits if not _UNSUBSCRIBE_FALSE_FRIENDS.match(folded, h)]
    hits += [m.start() for m in _UNSUBSCRIBE.finditer(folded) if _negated(folded, m.start())]
    return max(hits) if hits else None


def _negated(folded: str, start: int) -> bool:
    """Whether a negation stands within three words before an unsubscribe phrase."""
    return bool(_NEGATED_UNSUBSCRIBE.search(folded[max(0, start - 40) : start]))


def _is_question(folded: str) -> bool:
    """A question mark, an interrogative opening a clause, or a request for help or action."""
    if "?" in _RHETORICAL.sub(" ", folded.replace("?)", ")")):
        return True
    return bool(_QUESTION_START.search(folded) or _QUESTION_ANYWHERE.search(folded))


def _is_small_talk(folded: str) -> bool:
    """Thanks, greetings and acknowledgements with nothing else in them."""
    rest = _SMALL_TALK.sub(" ", _NON_WORD.sub(" ", folded))
    return not rest.strip()
