"""CLI: JSONL round trip, stdin, errors as one stderr line, train and eval commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlu.cli import build_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_jsonl_round_trip(runner: CliRunner, tmp_path: Path) -> None:
    rows = [
        {"text": "СТОП", "context": "promo"},
        {"text": "5", "context": "survey"},
        {"text": "где мой заказ"},
        {"text": "спасибо", "context": None},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    result = runner.invoke(build_app(), ["classify", "--jsonl", str(path)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"label": "opt_out", "rating": None},
        {"label": "rating", "rating": 5},
        {"label": "question", "rating": None},
        {"label": "other", "rating": None},
    ]


def test_bad_line_keeps_earlier_output(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "СТОП"}\n{"text": "5", "context": "survey"}\n{oops\n{"text": "x"}\n')
    result = runner.invoke(build_app(), ["classify", "--jsonl", str(path)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr.count("\n") == 1 and ":3: invalid JSON" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": 5}', '"text" must be a string'),
        ("[1, 2]", "JSON object"),
        ('{"text": "a", "context": "newsletter"}', "unknown context"),
    ],
)
def test_invalid_lines(runner: CliRunner, tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n")
    result = runner.invoke(build_app(), ["classify", "--jsonl", str(path)])
    assert result.exit_code == 1 and message in result.stderr


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["classify", "--jsonl", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read") and "Traceback" not in result.output


def test_stdin_through_python_m(tmp_path: Path) -> None:
    lines = '{"text": "Отпишите меня"}\n\n{"text": "★★★☆☆", "context": "survey"}\n'
    proc = subprocess.run(
        [sys.executable, "-m", "nlu.cli", "classify", "--jsonl", "-"],
        input=lines,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        '{"label": "opt_out", "rating": null}',
        '{"label": "rating", "rating": 3}',
    ]


def test_train_and_eval_commands(runner: CliRunner, tmp_path: Path) -> None:
    model = tmp_path / "model"
    trained = runner.invoke(build_app(), ["train", "--output", str(model), "--epochs", "2"])
    assert trained.exit_code == 0, trained.output
    assert (model / "config.cfg").is_file()
    result = runner.invoke(build_app(), ["eval", "--model", str(model)])
    assert result.exit_code == 0, result.output
    for needle in ("opt_out", "macro F1", "rating exact accuracy", "confusion"):
        assert needle in result.stdout


def test_eval_without_model_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["eval", "--model", str(tmp_path / "none")])
    assert result.exit_code == 2 and "nlu train" in result.stderr
