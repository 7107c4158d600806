"""Errors the app reports as one clear line (exit status 2) instead of a traceback."""


class PropsError(ValueError):
    """A construct was given a value it cannot build from.

    Raised before anything reaches jsii, with the prop name, the value and what
    is allowed, so a mistake reads like config feedback rather than a stack trace.
    """

    def __init__(self, construct: str, prop: str, value: object, allowed: str) -> None:
        super().__init__(f"{construct}: {prop}={value!r} is not allowed; {allowed}")
        self.construct = construct
        self.prop = prop
        self.value = value
        self.allowed = allowed
