"""Platform adapters: they translate between a chat platform and the command layer."""


class StartupError(Exception):
    """A platform could not be joined at start-up (unreachable, or the token refused): one line
    for the operator, exit 2 — never a traceback."""
