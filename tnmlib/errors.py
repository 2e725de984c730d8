"""The package's error type for bad input: caught by the CLI and reported in one line."""


class TNMInputError(ValueError):
    """An input (parameter, file, option) is invalid; the message says which and why."""


class TNMRunError(RuntimeError):
    """A long job failed for a reason other than its input (a worker died, a disk filled)."""
