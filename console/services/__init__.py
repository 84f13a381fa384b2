"""Domain operations (DESIGN.md R1–R20): each takes the acting staff member, checks its rule,
changes rows, writes the audit entry and flushes; the caller owns the transaction."""


class DomainError(Exception):
    """A refused operation; the message is Japanese and shown to the staff member as is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
