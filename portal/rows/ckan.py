"""`datastore_search` and `datastore_info` on the CKAN-compatible Action API (see api/ckan.py).

Same parameters, answer shapes and errors as CKAN 2.12's DataStore: 404 "Not Found Error" for a resource
without rows here, 403 "Authorization Error" for a conditional dataset the caller has no grant for,
409 "Validation Error" naming the parameter for bad input (see rows/query.py). The `resource_id` is
CKAN's, so ckanapi reads a table here exactly as from the city's CKAN.
"""

from __future__ import annotations

import csv
import io

from flask.globals import _cv_app
from flask_login import current_user

from portal.accounts import callers, metering
from portal.api import ckan_params
from portal.extensions import db
from portal.rows import query, tables

SEARCH_PATH = "/api/3/action/datastore_search"


def caller():
    """The token's user, else the signed-in user, else the anonymous user: the user itself, not
    Flask-Login's proxy, whose every attribute read the permission checks make costs three calls (issue 16).
    Flask-Login's user is read from g, where it keeps it once it looked (or `anonymous_without_cookies`
    put it)."""
    found = callers.user()
    if found is not None:
        return found
    visitor = _cv_app.get().g.__dict__.get("_login_user")
    return visitor if visitor is not None else current_user._get_current_object()


def _table(params: dict) -> tuple[str, tables.Table]:
    ref = ckan_params.string(params, "resource_id") or ckan_params.string(params, "id")
    if not ref:
        raise ckan_params.invalid({"resource_id": ["Missing value"]})
    found = tables.locate(db.session, ref, text_index=params.get("q") not in (None, ""))
    try:
        row_table = tables.readable_table(found, caller())
    except tables.NotFound:
        raise ckan_params.ActionError(
            404, {"__type": "Not Found Error", "message": f'Not found: Resource "{ref[:100]}" was not found.'}
        ) from None
    except tables.Denied:
        raise ckan_params.ActionError(
            403,
            {
                "__type": "Authorization Error",
                "message": f"Access denied: User not authorized to read resource {ref[:100]}",
            },
        ) from None
    _cv_app.get().g.__dict__["api_dataset_id"] = found.dataset.id  # g.api_dataset_id, without the proxy
    return ref, row_table


def datastore_search(params: dict) -> dict:
    ref, row_table = _table(params)
    fields = row_table.fields
    try:
        search = query.parse(params, fields)
    except query.Invalid as exc:
        raise ckan_params.invalid(exc.errors) from None
    search.text_index, search.text_start = row_table.text_index, row_table.text_start  # read with the table
    found = query.run(db.session.connection(), row_table.table_name, fields, search)
    result = {
        "include_next_page": False,
        "include_total": search.include_total,
        "limit": search.limit,
        "records_format": search.records_format,
        "resource_id": ref,
        **search.echo,
        "records": found["records"],
        "fields": found["fields"],
    }
    metering.note(row_calls=1, rows=returned(found["records"], search.records_format))
    if "total" in found:
        result["total"] = found["total"]
        result["total_was_estimated"] = found["total_was_estimated"]
    if search.truncated:
        result["records_truncated"] = True
    start = f"{SEARCH_PATH}?resource_id={ref}"
    result["_links"] = {"start": start, "next": f"{start}&offset={search.offset + search.limit}"}
    return result


def returned(records: object, records_format: str) -> int:
    """Count the rows of an answer in any of CKAN's records formats (objects, lists, csv, tsv)."""
    if isinstance(records, list):
        return len(records)
    delimiter = "\t" if records_format == "tsv" else ","
    return sum(1 for _ in csv.reader(io.StringIO(str(records)), delimiter=delimiter))


def datastore_info(params: dict) -> dict:
    ref, row_table = _table(params)
    fields = row_table.fields
    return {
        "meta": {"id": ref, "count": row_table.records, "table_type": "BASE TABLE", "aliases": []},
        "fields": [
            {
                "id": f.id,
                "type": "text" if f.personal else f.type,
                "schema": {
                    "native_type": "text" if f.personal else f.type,
                    "is_index": False,
                    "notnull": False,
                },
                **({"info": {"personal": f.personal, "masked": True}} if f.personal else {}),
            }
            for f in fields
        ],
    }


ACTIONS = {"datastore_search": datastore_search, "datastore_info": datastore_info}  # offered by api/ckan.py
