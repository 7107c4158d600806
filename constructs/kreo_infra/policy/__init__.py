"""Policy gates over synthesized output: checkov findings and secret literals.

Used by the test suite (and by review tooling); needs the dev dependencies.
"""
