"""Benchmark reports: the table is printed, and written as the same text when a path is given."""

from __future__ import annotations

from genscene.eval.report import emit

TABLE = "| method | AUC@30 |\n|---|---:|\n| genscene | 91.2 |\n| pycolmap | 63.5 |\n"


def test_emit_prints_and_writes_the_same_text(tmp_path, capsys):
    out = tmp_path / "results" / "nested" / "table.md"  # parents do not exist yet
    emit(TABLE, out)
    assert capsys.readouterr().out == TABLE + "\n"  # print adds the one newline
    assert out.read_text() == TABLE


def test_emit_without_out_only_prints(tmp_path, capsys):
    emit(TABLE, None)
    assert capsys.readouterr().out == TABLE + "\n"
    assert list(tmp_path.iterdir()) == []
