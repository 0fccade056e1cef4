"""Tick archive domain: one reader over the hot store and the Parquet archive, and the retention rule."""

from trading_assets.archive.reader import Location, TickDayMissingError, TickReader
from trading_assets.archive.retention import days_to_drop

__all__ = ["Location", "TickDayMissingError", "TickReader", "days_to_drop"]
