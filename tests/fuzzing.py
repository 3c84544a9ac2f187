"""Schemathesis runs over the /api/v1 document: the checks every fuzzed request must pass, and one run."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

# Both directions (issue 13): the API refuses what the document forbids (negative_data_rejection)
# and accepts what it allows (positive_data_acceptance), besides answering as documented.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
# Per operation and kind of data (valid, invalid): enough to find crashes, small enough for a quick run.
EXAMPLES = 25


def fuzz(strategy, app, client) -> None:
    """Call the app with each case `strategy` makes and validate the answer against CHECKS."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy)
    def run(case):
        case.call_and_validate(app=app, session=client, checks=CHECKS)

    run()
