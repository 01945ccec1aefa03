"""The central store: an HTTP API (FastAPI) over SQLAlchemy Core, SQLite or PostgreSQL.

routes.py    the /v1 API and `create_app`, the one place the parts are put together
storage.py   identity, enrolment, push and pull over the database (blocking calls)
push.py      judging and storing a pushed batch; seq in commit order; card numbers
recheck.py   stored entries judged again by the entry catalogue, once per catalogue version
limits.py    body caps as bytes arrive, and the failed-authentication rate limit
enrol.py     one-time codes, desk secrets, credentials
notify.py    waking long-polls, across processes through PostgreSQL LISTEN/NOTIFY
database.py  URLs, engines, the store's own Alembic migrations (migrations/)
tables.py    the store's tables; schemas.py the OpenAPI shapes; replies.py JSON errors
"""

from app.store.routes import create_app

__all__ = ["create_app"]
