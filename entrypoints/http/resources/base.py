"""What every resource is built from."""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from domain.use_cases import UseCases
from entrypoints.http.exchange import EncodedViews


@frozen
class Dependencies:
    """Given to each resource's ``build``: the use cases, the job representations (encoded
    once per job version) and the OpenAPI document of a version, as bytes."""

    use_cases: UseCases
    views: EncodedViews
    document: Callable[[str], bytes]
