"""Test and benchmark support: real servers on loopback and a process harness. Not shipped."""
