from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from domain.blueprint import BlueprintFormat, BlueprintInspector, detect_format, inspect
from domain.errors import DomainError, InvalidFileFormat
from domain.job import Job
from entrypoints.http.representations import job_from_dict, job_to_dict
from tests.blueprints import chunked
from tests.strategies import chunk_sizes, jobs

SIGNATURES = [fmt.signature for fmt in BlueprintFormat]


@given(jobs())
def test_v1_dict_round_trip_is_lossless(job: Job) -> None:
    assert job_from_dict(job_to_dict(job), job.owner) == job


@given(jobs())
def test_v1_dict_is_plain_json_data(job: Job) -> None:
    import json

    data = job_to_dict(job)
    assert json.loads(json.dumps(data)) == data


@given(st.binary(max_size=64))
def test_detection_never_raises_and_needs_a_known_signature(head: bytes) -> None:
    detected = detect_format(head)
    if detected is None:
        assert not any(head.startswith(sig) for sig in SIGNATURES)
    else:
        assert head.startswith(detected.signature)


@given(st.binary(max_size=64), chunk_sizes)
def test_inspection_refuses_what_does_not_start_with_a_signature(data: bytes, size: int) -> None:
    try:
        facts = inspect(chunked(data, size))
    except InvalidFileFormat:
        assert not any(data.startswith(sig) for sig in SIGNATURES)
    except DomainError as error:
        assert error.code == "INVALID_REQUEST_BODY"
        assert data == b""
    else:
        assert data.startswith(facts.format.signature)


@given(
    st.sampled_from(SIGNATURES),
    st.binary(max_size=20_000),
    st.lists(chunk_sizes, min_size=1, max_size=8),
)
def test_hashing_in_chunks_of_any_size_equals_hashing_at_once(
    signature: bytes, body: bytes, sizes: list[int]
) -> None:
    data = signature + body
    inspector = BlueprintInspector()
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        inspector.feed(data[position : position + size])
        position += size
        turn += 1
    facts = inspector.finish()
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.size_bytes == len(data)
