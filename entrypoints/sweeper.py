"""The sweeper, run on a schedule (SweeperFunction, every five minutes): jobs processing for
longer than ``BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS`` are failed (``PROCESSING_TIMEOUT``),
and jobs still pending after ``BLUEPRINT_JOBS_RESEND_AFTER_SECONDS`` are sent to the pipeline
again. Both are found through the table's sparse index of unfinished jobs, never a scan.

A pass takes at most a batch of each; the next pass takes the rest. A pass that fails is
logged and raised: the function's errors are what its alarm watches, and the next pass, five
minutes on, sweeps again (every step of a pass may be taken twice harmlessly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from entrypoints.invocation import Once, invocation, lambda_settings

if TYPE_CHECKING:
    from domain.use_cases.sweeper import Sweeper

log = logging.getLogger("blueprint_jobs.sweeper")

Result = dict[str, list[str]]


def make_handler(sweeper: Sweeper | Callable[[], Sweeper]) -> Callable[[object, Any], Result]:
    """A handler around a ``Sweeper``, or around a factory called on the first event."""
    built: Once[Sweeper] = Once(sweeper) if callable(sweeper) else Once(lambda: sweeper)

    def handle(event: object, context: Any = None) -> Result:
        with invocation(context):
            try:
                report = built.get().sweep()
            except Exception:
                log.exception("the sweep failed")
                raise
            return {"failed": report.failed, "resent": report.resent}

    return handle


def _production_sweeper() -> Sweeper:
    from entrypoints.aws import sweeper  # botocore, on the first event only

    return sweeper(lambda_settings())


handler = make_handler(_production_sweeper)
