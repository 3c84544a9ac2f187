"""The dataset page's preview of a loaded resource: a page of its rows from the store, searched and sorted.

The file preview (catalogue/preview.py) shows a file's first rows; once a resource's rows are in the store,
the preview pages through all of them on the server instead (50 a page), with a full-text search box and
sortable columns, through the same reader as datastore_search and /api/v1 (`rows/query.py`), so the page
shows what the API answers, masked alike. Input the reader refuses (a sort on a field that is not there)
is dropped with a note, never an error page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue.models import Resource
from portal.rows import query, tables
from portal.rows.models import READY, RowTable

PER_PAGE = 50
MAX_PAGE = 100_000


@dataclass
class RowsPage:
    header: list[str]
    rows: list[list[str]]
    total: int
    page: int
    q: str = ""
    sort: str = ""  # a field name, or "" for the table's order
    descending: bool = False
    masked: dict[str, str] = field(default_factory=dict)  # header -> kind of personal data
    refused: bool = False  # the asked-for sort or search was dropped

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PER_PAGE))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def loaded(session: Session, resource: Resource) -> RowTable | None:
    """Return the resource's ready row table, or None (the file preview then shows the file)."""
    found = session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    return found if found is not None and found.status == READY else None


def page_of(
    session: Session, row_table: RowTable, *, q: str, sort: str, descending: bool, page: int
) -> RowsPage:
    """Return one page of a loaded table's rows as text, searched by `q` and sorted by the field `sort`."""
    fields = tables.fields(row_table)
    page = min(max(page, 1), MAX_PAGE)
    shown = [f.id for f in fields]
    params = {"fields": shown, "limit": PER_PAGE, "offset": (page - 1) * PER_PAGE, "q": q[: query.MAX_Q]}
    refused = False
    if sort:
        params["sort"] = [f'"{sort.replace(chr(34), chr(34) * 2)}" {"desc" if descending else "asc"}']
    try:
        search = query.parse(params, fields)
    except query.Invalid:
        refused, sort = True, ""
        search = query.parse({k: v for k, v in params.items() if k != "sort"}, fields)
    found = query.run(session.connection(), row_table.table_name, fields, search)
    rows = [[_text(record[name]) for name in shown] for record in found["records"]]
    masked = {f.id: f.personal for f in fields if f.personal}
    return RowsPage(shown, rows, found["total"], page, q, sort, descending, masked, refused)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
