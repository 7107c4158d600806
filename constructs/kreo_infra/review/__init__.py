"""Reviewable changes: a Markdown report of a synth output, a diff of two, a diagram, and the
summary of saved Terraform plans an approver reads (``plan``)."""
