"""Normalisation and the lazily created default classifier."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nlu.text import clean, fold

ROOT = Path(__file__).resolve().parents[2]


def test_fold_squeezes_lowercases_and_fixes_scripts() -> None:
    assert fold("СТОООП") == "стоп"
    assert fold("CTOП") == "стоп"
    assert fold("Ёлка") == "елка"
    assert fold("4️⃣") == "4"
    assert fold("ｓｔｏｐ") == "stop"


def test_fold_repairs_typos_of_key_words_only() -> None:
    assert fold("отпиштие") == "отпишите"
    assert fold("unsubscibe") == "unsubscribe"
    assert fold("почему вы не пишете") == "почему вы не пишете"


def test_clean_strips_control_characters_and_bounds_length() -> None:
    assert clean("a\x00b\u200bc") == "a b c"
    assert len(clean("x" * 10_000)) <= 2001
    assert clean(None) == ""


def test_import_does_not_load_the_model() -> None:
    code = "import nlu, sys; assert nlu._default is None; print(nlu.classify('СТОП').label)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "opt_out"
