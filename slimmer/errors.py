"""The two kinds of failure the CLI reports: bad usage (exit 2) and a failed operation (exit 1)."""


class SlimError(Exception):
    """A failure with a one-line message meant for the user (exit code 1)."""

    exit_code = 1


class UsageError(SlimError):
    """The command line or a reference given on it is malformed (exit code 2)."""

    exit_code = 2


class CorruptImageError(SlimError):
    """An image, layer or tar member is damaged, inconsistent or hostile."""


class VerifyFailed(SlimError):
    """The two images differ; `details` holds the diff, printed before the one-line error."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.details = details
