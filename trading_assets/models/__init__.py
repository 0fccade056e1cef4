"""Models: leakage-free features, labels, purged walk-forward splits and drift statistics.

Pure functions over Arrow tables and numpy arrays; the Dagster assets that store and train with them
stay thin beside them.
"""
