"""The domain's error vocabulary and its two mappings: to HTTP answers and to `/ws` frames."""

from __future__ import annotations

import pytest

from pixtrio.edge.http_errors import STATUS, domain_answer
from pixtrio.edge.ws_errors import error_frame
from pixtrio.features import errors
from pixtrio.storage.errors import StorageError

KINDS = [kind for kind in vars(errors).values()
         if isinstance(kind, type) and issubclass(kind, errors.DomainError)
         and kind is not errors.DomainError]
EXAMPLES = {
    errors.InvalidField: errors.InvalidField("caption", "too long"),
    errors.RateLimited: errors.RateLimited(1500),
}


def example(kind: type[errors.DomainError]) -> errors.DomainError:
    return EXAMPLES.get(kind) or kind("what went wrong")


def test_every_kind_has_one_status_and_the_expected_ones() -> None:
    assert set(KINDS) == set(STATUS)
    assert {kind.__name__: STATUS[kind] for kind in KINDS} == {
        "Malformed": 400, "NotAuthenticated": 401, "Forbidden": 403, "NotFound": 404,
        "Conflict": 409, "TooLarge": 413, "Unsupported": 415, "InvalidField": 422,
        "RateLimited": 429, "Unavailable": 503}


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_http_and_websocket_say_the_same(kind: type[errors.DomainError]) -> None:
    exc = example(kind)
    status, body, headers = domain_answer(exc)
    frame = error_frame(exc)
    assert body == {"error": {"code": frame.code, "message": frame.message}}
    assert frame.code == kind.code and status == STATUS[kind]
    assert ("Retry-After" in headers) == (kind in (errors.RateLimited, errors.Unavailable))


def test_a_precise_code_replaces_the_kinds_and_a_field_leads_the_message() -> None:
    exc = errors.Conflict("this post has already been published", code="already_published")
    assert domain_answer(exc)[:2] == (409, {"error": {
        "code": "already_published", "message": "this post has already been published"}})
    field = errors.InvalidField("text", "must not be empty")
    assert (field.field, field.message, field.code) == ("text", "text: must not be empty", "invalid_field")
    assert domain_answer(errors.RateLimited(1500))[2] == {"Retry-After": "2"}


def test_a_store_that_is_away_is_unavailable_on_both() -> None:
    frame = error_frame(StorageError("redis: connection refused"))
    assert frame.code == "unavailable" and "retry" in frame.message
