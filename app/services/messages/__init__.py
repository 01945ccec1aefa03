"""Messages to people who are informed, not paged: the notification plan, customer texts,
stakeholder status updates, and the one outbox they all go through (see outbox.py)."""
