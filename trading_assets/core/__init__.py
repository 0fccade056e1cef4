"""The core layer: tick and bar schemas, time helpers, validation and settings.

It imports nothing else of tradegraph; every other package may import it.
"""
