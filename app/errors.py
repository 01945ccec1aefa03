"""The project's one error hierarchy.

Every failure a person or a script can hit is a ``DeskError``; outside libraries' errors
(SQLAlchemy, requests, Twilio, OS) are translated into one of these at the edge that calls
them, so the command line and the window each show errors in exactly one place.

    DeskError
    ├── ValidationError      bad input: names the field and the fix; nothing was changed
    ├── NotFoundError        a card, person or desk that does not exist
    ├── PermissionDenied     the operator's role may not do this
    ├── TransitionError      an illegal status change
    ├── ConfigError          a settings, policy, roster or ladder file is wrong
    ├── JournalError         the journal cannot be opened or written (locked, full, not ours)
    ├── SyncError            the central store cannot be reached or refused us
    └── PagerError           a page could not be sent
"""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error Dispatch Desk raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(DeskError):
    """Input was rejected; the message names the field and how to fix it."""


class NotFoundError(DeskError):
    """The thing asked for does not exist."""


class PermissionDenied(DeskError):
    """The operator's role does not allow this action."""


class TransitionError(DeskError):
    """A status change that the dispatch rules do not allow."""


class ConfigError(DeskError):
    """A configuration file is missing, malformed or inconsistent."""


class JournalError(DeskError):
    """The journal could not be opened or written."""


class SyncError(DeskError):
    """The central store could not be reached, or refused the desk."""


class PagerError(DeskError):
    """A page (SMS or voice call) could not be sent."""
