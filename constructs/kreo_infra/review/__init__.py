"""Reviewable changes: a Markdown report of a synth output, a diff of two, and a diagram."""
