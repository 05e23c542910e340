"""Two owners share one service, over HTTP. Whatever either does, in any order, neither ever
observes or changes a job of the other's: every route that names another's job answers as if
it did not exist, and each listing is exactly its owner's jobs. On memory and on DynamoDB."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.blueprint import BlueprintFormat
from domain.use_cases import UseCases
from tests.aws import dynamodb_use_cases, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import SAMPLES
from tests.fakes import OTHER_OWNER, OWNER, SteppingClock
from tests.helpers import SETTINGS, finish, use_cases_over
from tests.http.clients import Client, FalconClient, LambdaClient


def two_owner_machine(service: UseCases) -> type[RuleBasedStateMachine]:
    """The machine over ``service``, which every example shares: each example gets two owners
    of its own, so no example sees another's jobs."""
    clock = SteppingClock()
    examples = itertools.count()

    class TwoOwners(RuleBasedStateMachine):
        jobs = Bundle("jobs")

        def __init__(self) -> None:
            super().__init__()
            n = next(examples)
            self.owners = (f"{OWNER}-{n}", f"{OTHER_OWNER}-{n}")
            # One owner calls through Falcon, the other through the Lambda handler.
            self.clients = {
                self.owners[0]: FalconClient(service, SETTINGS, clock, owner=self.owners[0]),
                self.owners[1]: LambdaClient(service, SETTINGS, clock, owner=self.owners[1]),
            }
            self.owner_of: dict[str, str] = {}
            self.versions: dict[str, int] = {}

        @rule(target=jobs, owner=st.sampled_from((0, 1)), sample=st.sampled_from(sorted(SAMPLES)))
        def create(self, owner: int, sample: BlueprintFormat) -> str:
            reply = self.clients[self.owners[owner]].request(
                "POST",
                "/api/v1/jobs",
                headers={"Content-Type": "application/octet-stream"},
                body=SAMPLES[sample],
            )
            assert reply.status == 201, reply.body
            job_id: str = reply.data["job_id"]
            self.owner_of[job_id] = self.owners[owner]
            self.versions[job_id] = reply.data["version"]
            return job_id

        def _as(self, caller: int, job_id: str, act: Callable[[Client], Any]) -> Any:
            """``act`` as the ``caller``-th owner: on a job of the other, a 404 as for no job."""
            owner = self.owners[caller]
            reply = act(self.clients[owner])
            if self.owner_of[job_id] != owner:
                assert reply.status == 404, (caller, job_id, reply.status, reply.body)
                assert reply.error["code"] == "JOB_NOT_FOUND"
                return None
            return reply

        @rule(caller=st.sampled_from((0, 1)), job_id=jobs)
        def read(self, caller: int, job_id: str) -> None:
            reply = self._as(caller, job_id, lambda c: c.request("GET", f"/api/v1/jobs/{job_id}"))
            if reply is not None:
                assert reply.status == 200
                assert reply.data["version"] == self.versions[job_id]

        @rule(caller=st.sampled_from((0, 1)), job_id=jobs)
        def cancel(self, caller: int, job_id: str) -> None:
            reply = self._as(
                caller, job_id, lambda c: c.request("DELETE", f"/api/v1/jobs/{job_id}")
            )
            if reply is not None and reply.status == 200:
                self.versions[job_id] = reply.data["version"]

        @rule(caller=st.sampled_from((0, 1)), job_id=jobs, rating=st.integers(1, 5))
        def rate(self, caller: int, job_id: str, rating: int) -> None:
            path = f"/api/v1/jobs/{job_id}/feedback"
            self._as(
                caller, job_id, lambda c: c.request("POST", path, json_body={"rating": rating})
            )

        @rule(job_id=jobs)
        def the_pipeline_finishes(self, job_id: str) -> None:
            owner = self.owner_of[job_id]
            job = service.lifecycle.get_job(owner, job_id)
            if job.status.value == "pending":
                finish(service, job_id)
                self.versions[job_id] = service.lifecycle.get_job(owner, job_id).version

        @invariant()
        def each_listing_is_exactly_its_owners_jobs(self) -> None:
            for owner, client in self.clients.items():
                listed: list[str] = []
                token = None
                while True:
                    query = "?limit=100" + (f"&page_token={token}" if token else "")
                    reply = client.request("GET", f"/api/v1/jobs{query}")
                    assert reply.status == 200
                    listed += [job["job_id"] for job in reply.data]
                    token = reply.json()["meta"]["next_page_token"]
                    if token is None:
                        break
                mine = {j for j, o in self.owner_of.items() if o == owner}
                assert set(listed) == mine
                assert len(listed) == len(mine)

    return TwoOwners


def test_neither_owner_ever_reaches_the_others_jobs_in_memory() -> None:
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore())
    run_state_machine_as_test(
        two_owner_machine(service),
        settings=settings(max_examples=40, stateful_step_count=25, deadline=None),
    )


@pytest.mark.slow
def test_neither_owner_ever_reaches_the_others_jobs_on_dynamodb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        service = dynamodb_use_cases(jobs, new_blob_store())
        run_state_machine_as_test(
            two_owner_machine(service),
            settings=settings(
                max_examples=8,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
