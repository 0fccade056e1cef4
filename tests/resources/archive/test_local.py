"""Local archive specifics: the folder layout, the sidecar, and what a failed write leaves behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import resources.archive.local as local_module
from resources.archive import ArchiveVerificationError, LocalTickArchive
from tests.resources.archive.conftest import DAY1, archive_order, sim_day


def test_layout_is_a_day_folder_with_parquet_and_json_sidecar(tmp_path: Path) -> None:
    archive = LocalTickArchive(tmp_path)

    record = archive.write_day(DAY1, sim_day(DAY1, 200))

    folder = tmp_path / "ticks" / "day=2024-03-01"
    assert sorted(path.name for path in folder.iterdir()) == ["ticks.json", "ticks.parquet"]
    sidecar = json.loads((folder / "ticks.json").read_text())
    assert sidecar["rows"] == record.rows
    assert sidecar["bytes"] == record.bytes == (folder / "ticks.parquet").stat().st_size
    assert sidecar["sha256"] == record.sha256
    assert record.uri == str(folder / "ticks.parquet")


def test_a_write_whose_stored_bytes_differ_fails_and_keeps_the_old_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = LocalTickArchive(tmp_path)
    old = sim_day(DAY1, 200, seed=1)
    archive.write_day(DAY1, old)
    real_write = local_module._write_durably

    def torn_write(path: Path, data: bytes) -> None:
        real_write(path, data[: len(data) // 2])  # a disk that keeps half of what it was given

    monkeypatch.setattr(local_module, "_write_durably", torn_write)

    with pytest.raises(ArchiveVerificationError) as raised:
        archive.write_day(DAY1, sim_day(DAY1, 300, seed=2))

    assert "2024-03-01" in str(raised.value) and "size" in str(raised.value)
    monkeypatch.undo()
    assert archive.read_day(DAY1).equals(archive_order(old))
    assert sorted(os.listdir(tmp_path / "ticks" / "day=2024-03-01")) == ["ticks.json", "ticks.parquet"]


def test_a_file_without_its_sidecar_is_not_listed(tmp_path: Path) -> None:
    archive = LocalTickArchive(tmp_path)
    archive.write_day(DAY1, sim_day(DAY1, 100))

    (tmp_path / "ticks" / "day=2024-03-01" / "ticks.json").unlink()

    assert archive.days() == []
    assert archive.info(DAY1) is None


def test_a_missing_root_has_no_days(tmp_path: Path) -> None:
    archive = LocalTickArchive(tmp_path / "not-created")

    assert archive.days() == []
    assert archive.list_days() == []
