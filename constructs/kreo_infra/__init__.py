"""Kreo Marketplace infrastructure: config models, constructs, stacks and the app wiring."""
