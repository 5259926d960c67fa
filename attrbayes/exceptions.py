"""Error types: every message names the file, column or key and what was expected."""


class AttrbayesError(Exception):
    """Base class of all attrbayes errors."""


class DataError(AttrbayesError):
    """Input data are missing, malformed or inconsistent."""


class MissingTableError(DataError):
    """A stage needs an optional panel table that this panel does not have."""


class SpecError(AttrbayesError):
    """A model specification is invalid."""


class PriorError(AttrbayesError):
    """A prior set is invalid."""


class ProjectionError(AttrbayesError):
    """A projection cannot be run with the given inputs."""


class ConvergenceError(AttrbayesError):
    """The diagnostics gate failed and strict mode was asked for."""


class ConvergenceWarning(UserWarning):
    """The diagnostics gate failed: estimates may not be trustworthy."""


class Interrupted(AttrbayesError):
    """Work was stopped (Ctrl-C, SIGTERM) before it finished; nothing was saved."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code
