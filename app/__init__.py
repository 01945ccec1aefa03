"""Dispatch Desk: an offline-first desktop client for emergency dispatch desks."""

__version__ = "0.1.0"
