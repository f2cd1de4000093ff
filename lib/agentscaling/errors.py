"""Errors the user can act on. The CLI prints them as one line and exits with status 2."""


class UserError(ValueError):
    """Bad input: a missing file, an unknown name, an invalid value. The message says what to do."""


class DataIntegrityError(UserError):
    """A stored file failed its checksum or is truncated; the message names the file."""
