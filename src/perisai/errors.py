"""Errors the CLI turns into exit codes. Each message says what was wrong and where."""


class PerisaiError(Exception):
    """Bad input or usage: exit 2, one line on stderr."""

    exit_code = 2


class BadKey(PerisaiError):
    """Wrong passphrase or missing key."""


class BadInput(PerisaiError):
    """An input file that cannot be used as given."""


class CheckFailed(PerisaiError):
    """A verification found something that does not match: exit 1."""

    exit_code = 1
