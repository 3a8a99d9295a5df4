"""`notifyhub import` streams CSV (cp1251 too) and XLSX in chunks, showing rows, rows/s and time left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from typer.testing import CliRunner

from hub.cli.main import app


def cli(db_url: str, tmp_path: Path) -> Any:
    config = tmp_path / "hub.yaml"
    config.write_text(f"database: {{url: '{db_url}'}}\nlogging: {{level: WARNING}}\n")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, [*args, "--config", str(config)])

    assert run("clients", "create", "Shop").exit_code == 0
    return run


def test_a_cp1251_csv_of_thousands_of_rows_with_a_progress_bar(db_url: str, tmp_path: Path) -> None:
    run = cli(db_url, tmp_path)
    path = tmp_path / "base.csv"
    rows = [f"+7916{i:07d};Покупатель {i};Казань;{i % 7};VIP" for i in range(2_500)]
    rows += ["oops;x;y;z;"] * 60
    path.write_bytes(("телефон;имя;город;визиты;groups\n" + "\n".join(rows) + "\n").encode("cp1251"))
    result = run("import", str(path), "--client", "Shop", "--progress")
    assert result.exit_code == 2, result.output
    summary = "imported 2500 of 2560 rows: 2500 new, 0 updated, 0 unchanged, 60 with errors"
    assert result.stdout.strip() == summary
    assert "2,560 rows" in result.stderr and "rows/s" in result.stderr
    assert result.stderr.count("bad_phone") == 50 and "... and 10 more rejected rows" in result.stderr
    again = run("import", str(path), "--client", "Shop", "--no-progress", "--json")
    assert again.exit_code == 2 and '"unchanged": 2500' in again.stdout and "rows/s" not in again.stderr


def test_an_xlsx_file(db_url: str, tmp_path: Path) -> None:
    run = cli(db_url, tmp_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["phone", "name", "average_check"])
    for i in range(300):
        sheet.append([79161110000 + i, f"Имя {i}", i * 10.5])
    path = tmp_path / "base.xlsx"
    book.save(path)
    result = run("import", str(path), "--client", "Shop")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 300 of 300 rows: 300 new, 0 updated, 0 unchanged, 0 with errors"
    unknown = run("import", str(tmp_path / "hub.yaml"), "--client", "Shop")
    assert unknown.exit_code == 1 and "--format csv, --format xlsx or --format json" in unknown.stderr
