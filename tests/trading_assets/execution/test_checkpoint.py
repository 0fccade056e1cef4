"""The executor's checkpoint in the table store: the payload comes back byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.execution.checkpoint import load_checkpoint, save_checkpoint


def test_a_payload_of_megabytes_of_any_bytes_comes_back_unchanged(tmp_path: Path) -> None:
    store = EmbeddedTableStore(tmp_path)
    first, latest = os.urandom(1_000), os.urandom(3 * 1024 * 1024)

    save_checkpoint(store, "run", time_us=1_700_000_000_000_000, code_version="v1", payload=first)
    save_checkpoint(store, "run", time_us=1_700_000_005_000_000, code_version="v2", payload=latest)

    assert load_checkpoint(store, "run") == (1_700_000_005_000_000, "v2", latest)


def test_no_checkpoint_before_the_first(tmp_path: Path) -> None:
    assert load_checkpoint(EmbeddedTableStore(tmp_path), "run") is None
