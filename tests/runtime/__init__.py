"""Checks of what the synthesized platform does once it runs: capacity (capacity.py)
against upstream defaults recorded as data (upstream.yaml)."""
