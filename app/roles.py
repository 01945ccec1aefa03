"""Reading the role -> rights file (app/defaults/roles.toml documents every key).

One reader for the desk and the store alike, so both judge entries by the same table: the file
given, else the one `DISPATCH_DESK_ROLES` names, else the shipped default. A file that cannot
be read is one ConfigError naming it; its text is judged by `app.protocol.rights.parse_roles`.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.errors import ConfigError
from app.protocol.rights import DEFAULT_ROLES_FILE, ROLES_ENV, RoleRights, parse_roles


def roles_path(path: Path | str | None = None) -> Path:
    return Path(path or os.environ.get(ROLES_ENV) or DEFAULT_ROLES_FILE)


def load_roles(path: Path | str | None = None) -> RoleRights:
    chosen = roles_path(path)
    try:
        text = chosen.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the roles file {chosen}: {exc.strerror or exc} (check "
                          f"--roles or ${ROLES_ENV})", field="roles") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read the roles file {chosen}: it is not UTF-8 text",
                          field="roles") from None
    return parse_roles(text, chosen.name)
