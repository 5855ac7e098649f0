"""One error hierarchy. Every ImgdescError carries a message meant for people:
the CLI prints it as one line, the app maps it to a 4xx JSON body."""


class ImgdescError(Exception):
    """Base for errors a user can act on; never shown with a traceback."""

    #: HTTP status the app answers with when this reaches a handler.
    status_code = 400

    def __init__(self, message: str, detail: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class ImageError(ImgdescError):
    """The input is not a usable image."""

    status_code = 422


class EmptyFileError(ImageError):
    pass


class NotAnImageError(ImageError):
    status_code = 415


class CorruptImageError(ImageError):
    pass


class FileTooLargeError(ImageError):
    status_code = 413


class TooManyPixelsError(ImageError):
    status_code = 413


class ConfigError(ImgdescError):
    """A settings file, profile or name given by the user is wrong."""


class ProfileError(ConfigError):
    pass


class UnknownNameError(ConfigError):
    """A name (analyzer, captioner, profile) that is not registered."""

    status_code = 404

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(sorted(valid))}", {"valid": valid})
        self.name = name
        self.valid = valid


class NotLoadedError(ConfigError):
    """A captioner that exists but is not loaded in this process (a server loads its models once)."""

    status_code = 409


class ModelError(ImgdescError):
    """A model could not be loaded (missing weights, broken runtime)."""

    status_code = 503
