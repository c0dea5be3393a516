"""Errors that end a command with a one-line reason instead of a traceback."""


class InputError(Exception):
    """Bad input from the user (a file, an option, a value): exit code 2, one line on stderr."""

    exit_code = 2


class RunError(Exception):
    """The run could not be carried out (unreachable target, missing tool): exit code 2."""

    exit_code = 2
