"""The contact list as CSV, for spreadsheets.

Row numbers count the header as row 1, as a spreadsheet shows them. A file is accepted
whole or not at all; every rejection names the row, the column and the fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from app.errors import ConfigError, ValidationError

from .contact import Contact

CSV_COLUMNS = (
    "id", "name", "role", "responsibilities", "primary_phone", "backup_phone", "messenger",
    "availability", "vacation_replacement", "skills",
)
# Columns a file may leave out (older exports): the contact method, "sms+call" when absent.
OPTIONAL_COLUMNS = ("method",)


def load_contacts_csv(text: str, source: str = "contacts CSV") -> list[Contact]:
    """Parse a contact list; ``skills`` are separated by ';'.

    ``vacation_replacement`` ids are checked once the contacts join a ``Roster``.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise ConfigError(f"{source} row 1: cannot be read as CSV: {exc}") from None
    known = (*CSV_COLUMNS, *OPTIONAL_COLUMNS)
    if sorted(h for h in header if h not in OPTIONAL_COLUMNS) != sorted(CSV_COLUMNS) or len(
            set(header)) != len(header):
        missing = [c for c in CSV_COLUMNS if c not in header]
        extra = [h for h in header if h not in known]
        raise ConfigError(
            f"{source} row 1: header must be " + ",".join(CSV_COLUMNS)
            + f" (and optionally {', '.join(OPTIONAL_COLUMNS)})"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
            + ("; a column is repeated" if not missing and not extra else "")
        )
    contacts: list[Contact] = []
    seen: dict[str, int] = {}
    number = 1
    try:
        for number, cells in enumerate(reader, 2):
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets leave blank lines at the end
            if len(cells) != len(header):
                raise ValidationError(f"{source} row {number}: has {len(cells)} cells but the "
                                      f"header has {len(header)}; quote cells that contain "
                                      "commas")
            row = dict(zip(header, cells, strict=True))
            try:
                contact = Contact.create(
                    id=row["id"], name=row["name"], role=row["role"],
                    responsibilities=row["responsibilities"],
                    primary_phone=row["primary_phone"], backup_phone=row["backup_phone"],
                    messenger=row["messenger"], availability=row["availability"],
                    vacation_replacement=row["vacation_replacement"],
                    skills=row["skills"].split(";"), method=row.get("method", ""),
                )
            except ValidationError as exc:
                raise ValidationError(f"{source} row {number}: {exc.message}",
                                      field=exc.field) from None
            if contact.id in seen:
                raise ValidationError(f"{source} row {number}: id {contact.id!r} repeats row "
                                      f"{seen[contact.id]}; give each person one id", field="id")
            seen[contact.id] = number
            contacts.append(contact)
    except csv.Error as exc:
        raise ConfigError(f"{source} row {number + 1}: cannot be read as CSV: {exc}") from None
    return contacts


def dump_contacts_csv(contacts: Iterable[Contact]) -> str:
    """Write contacts as CSV; empty cells stand for missing optional values.

    Spreadsheets may turn "+4930..." into a number; keep the phone columns as text there.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, *OPTIONAL_COLUMNS))
    for c in contacts:
        writer.writerow([
            c.id, c.name, c.role, c.responsibilities, c.primary_phone, c.backup_phone or "",
            c.messenger or "", c.availability, c.vacation_replacement or "",
            ";".join(sorted(c.skills)), c.method,
        ])
    return buffer.getvalue()
