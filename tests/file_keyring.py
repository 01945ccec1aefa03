"""A keyring backend in a JSON file, for desks that tests run as separate processes.

Select it in the child with ``PYTHON_KEYRING_BACKEND=tests.file_keyring.FileKeyring`` and
``DD_TEST_KEYRING_FILE=/tmp/.../keyring.json`` (the OS keyring stands at a real boundary; the
machine running the tests has none).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "DD_TEST_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ[ENV])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(f"{service}/{username} is not stored")
        self._path.write_text(json.dumps(data))


def child_env(path: Path, secrets: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process whose keyring is `path` (written with `secrets`)."""
    if secrets:
        path.write_text(json.dumps({f"dispatch-desk/{k}": v for k, v in secrets.items()}))
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
            ENV: str(path), "PYTHONPATH": root, "QT_QPA_PLATFORM": "offscreen"}
