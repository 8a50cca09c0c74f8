"""The one exception that means "bad input": scripts turn it into one line on stderr and exit 2."""


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line and exit code 2."""
