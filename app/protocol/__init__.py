"""What desks and the store share: the entry catalogue and the rules for untrusted text.

Nothing here imports Qt, SQLAlchemy, FastAPI or the services: the desk's journal, the sync
client and the store all build on it, so one definition judges an entry everywhere.
"""
