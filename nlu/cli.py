"""Command line: `notifyhub nlu train|eval` and `notifyhub classify --jsonl FILE`.

`hub/cli/main.py` mounts `nlu_app` and `classify_command`; `python -m nlu.cli` runs the same
commands standalone. Failures print one line to stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer

from nlu.classifier import DEFAULT_MODEL_DIR, Classifier, ModelMissing
from nlu.dataset import TEST_FILE, TRAIN_FILE, load_replies
from nlu.evaluate import evaluate, format_report
from nlu.labels import check_context

#: Exit code for bad input data (a bad JSON line, an unknown context).
EXIT_BAD_INPUT = 1
#: Exit code for a missing or unreadable file or model.
EXIT_NO_INPUT = 2
_CHUNK = 512

nlu_app = typer.Typer(help="Reply classifier: train and evaluate the shipped model.")


def _fail(message: str, code: int) -> typer.Exit:
    """Print one error line to stderr and build the exit to raise."""
    sys.stdout.flush()
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _load_classifier(model: Path) -> Classifier:
    """Load the model or exit with one clear line."""
    try:
        return Classifier(model)
    except (ModelMissing, OSError, ValueError) as e:
        raise _fail(str(e), EXIT_NO_INPUT) from None


@nlu_app.command("train")
def train_command(
    data: Path = typer.Option(TRAIN_FILE, "--data", help="Training replies (JSONL)."),
    output: Path = typer.Option(DEFAULT_MODEL_DIR, "--output", help="Model directory to write."),
    epochs: int = typer.Option(15, "--epochs", min=1, help="Passes over the training data."),
) -> None:
    """Train the reply classifier on the labelled replies and write the model directory."""
    from nlu.train import train

    try:
        replies = load_replies(data)
    except (OSError, ValueError) as e:
        raise _fail(f"cannot read training data: {e}", EXIT_NO_INPUT) from None
    started = time.perf_counter()
    out = train(replies, output, epochs=epochs)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    typer.echo(
        f"trained on {len(replies)} replies in {time.perf_counter() - started:.1f}s; "
        f"wrote {out} ({size / 1e6:.1f} MB)"
    )


@nlu_app.command("eval")
def eval_command(
    data: Path = typer.Option(TEST_FILE, "--data", help="Held-out replies (JSONL)."),
    model: Path = typer.Option(DEFAULT_MODEL_DIR, "--model", help="Model directory."),
    errors: int = typer.Option(0, "--errors", min=0, help="Also print this many mistakes."),
) -> None:
    """Print per-label precision/recall/F1, rating accuracy and the confusion matrix."""
    try:
        replies = load_replies(data)
    except (OSError, ValueError) as e:
        raise _fail(f"cannot read evaluation data: {e}", EXIT_NO_INPUT) from None
    report = evaluate(_load_classifier(model), replies)
    typer.echo(format_report(report))
    for reply, got in report.errors[:errors]:
        typer.echo(
            f"  gold={reply.label}/{reply.rating} got={got.label}/{got.rating} "
            f"ctx={reply.context} {reply.text!r}"
        )
    missed = report.failed_targets()
    typer.echo("targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))


def classify_command(
    jsonl: str = typer.Option(
        ..., "--jsonl", help='JSONL of {"text": ..., "context": ...}; "-" reads stdin.'
    ),
) -> None:
    """Classify replies from a JSONL file, writing one {"label", "rating"} line per input line."""
    classify_jsonl(jsonl)


def classify_jsonl(file: str, model: Path = DEFAULT_MODEL_DIR) -> None:
    """Stream FILE (or stdin for "-") through the classifier in batches, keeping order."""
    classifier = _load_classifier(model)
    try:
        stream: IO[str] = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        raise _fail(f"cannot read {file}: {e.strerror or e}", EXIT_NO_INPUT) from None
    with stream:
        batch: list[tuple[str, str | None]] = []
        for item in _parse_lines(stream, file):
            if isinstance(item, str):
                _flush(classifier, batch)
                raise _fail(item, EXIT_BAD_INPUT)
            batch.append(item)
            if len(batch) >= _CHUNK:
                _flush(classifier, batch)
        _flush(classifier, batch)


def _flush(classifier: Classifier, batch: list[tuple[str, str | None]]) -> None:
    """Classify and write the pending lines, then empty the batch."""
    if batch:
        results = classifier.classify_many([t for t, _ in batch], [c for _, c in batch])
        sys.stdout.write("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results))
        sys.stdout.flush()
        batch.clear()


def _parse_lines(stream: IO[str], name: str) -> Iterator[tuple[str, str | None] | str]:
    """Yield (text, context) per non-blank line, or an error message and stop."""
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            parsed = _parse_line(line)
            if isinstance(parsed, str):
                yield f"{name}:{number}: {parsed}"
                return
            yield parsed
    except UnicodeDecodeError:
        yield f"{name}:{number + 1}: not UTF-8 text"


def _parse_line(line: str) -> tuple[str, str | None] | str:
    """One input line as (text, context), or the reason it is not one."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as e:
        return f"invalid JSON ({e.msg} at column {e.colno})"
    if not isinstance(obj, dict):
        return 'expected a JSON object with a "text" field'
    text, context = obj.get("text"), obj.get("context")
    if not isinstance(text, str):
        return '"text" must be a string'
    if context is not None and not isinstance(context, str):
        return '"context" must be a string or null'
    try:
        return text, check_context(context)
    except ValueError as e:
        return str(e)


def build_app() -> typer.Typer:
    """A standalone app with train, eval and classify, for `python -m nlu.cli` and tests."""
    app = typer.Typer(help="notifyhub reply classifier (standalone).", add_completion=False)
    app.command("train")(train_command)
    app.command("eval")(eval_command)
    app.command("classify")(classify_command)
    return app


if __name__ == "__main__":
    build_app()()
