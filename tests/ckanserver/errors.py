"""Errors of the fake CKAN: the Action API's error answers, and Solr's refusals."""

from __future__ import annotations


class ActionError(Exception):
    """An error answer of the Action API: `error` is the envelope's error dict, or a bare JSON string."""

    def __init__(self, status: int, error: dict | str) -> None:
        super().__init__(status, error)
        self.status, self.error = status, error

    @classmethod
    def not_found(cls, detail: str = "") -> ActionError:
        return cls(
            404, {"__type": "Not Found Error", "message": "Not found" + (f": {detail}" if detail else "")}
        )

    @classmethod
    def denied(cls, detail: str) -> ActionError:
        return cls(403, {"__type": "Authorization Error", "message": f"Access denied: {detail}"})

    @classmethod
    def invalid(cls, errors: dict) -> ActionError:
        return cls(409, {**errors, "__type": "Validation Error"})

    @classmethod
    def search_query(cls, detail: str) -> ActionError:
        return cls(400, {"__type": "Search Query Error", "message": f"Search Query is invalid: {detail!r}"})

    @classmethod
    def search(cls, query: dict, reason: str) -> ActionError:
        solr_error = f"Solr responded with an error (HTTP 400): [Reason: {reason}]"
        detail = f"SOLR returned an error running query: {query!r} Error: {solr_error!r}"
        return cls(409, {"__type": "Search Error", "message": f"Search error: {detail!r}"})


class _Unsupported(Exception):
    """A query Solr would reject (the message is Solr's reason), or one this fake cannot answer."""


class _SortOrderError(Exception):
    """Solr's "Can't determine a Sort Order" error."""
