"""Errors the command line reports as plain messages, never as tracebacks."""


class SurveyError(Exception):
    """A problem the user can act on; the CLI prints it and exits 1."""


class DictionaryError(SurveyError):
    """The data dictionary cannot be read or is inconsistent."""


class StudyError(SurveyError):
    """The study configuration cannot be read or is inconsistent."""
