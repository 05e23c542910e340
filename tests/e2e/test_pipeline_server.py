"""The pipeline's round trip on moto.server: a job created over HTTP (``serve --storage
aws``) reaches the pipeline's queue through the table's stream and the outbox's handler; the
pipeline's ``started`` and ``completed`` come back through the progress consumer's handler; the
job is then completed over HTTP, its result served, and feedback taken.

The handlers are the production ones (``entrypoints.outbox.handler``,
``entrypoints.progress_consumer.handler``), configured from the environment as on Lambda; the
stand-ins of their event source mappings read moto.server's stream and queue
(``tests/pipeline.py``)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

from entrypoints import outbox, progress_consumer, sweeper
from tests.blueprints import png
from tests.e2e.servers import (
    REGION,
    aws_env_for,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    running,
)
from tests.fakes import OWNER
from tests.pipeline import Context, QueuePoller, StreamPoller, create_queue, receive_all

pytestmark = pytest.mark.slow


def test_a_job_goes_to_the_pipeline_and_its_progress_comes_back(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = aws_env_for(moto_server, "pipeline")
    done = init_storage(env)
    assert done.returncode == 0, done.stderr
    auth = bearer(create_key(env, OWNER, "pipeline e2e")[1])

    def client(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=moto_server,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    sqs, s3 = client("sqs"), client("s3")
    jobs_queue = create_queue(sqs, "pipeline-jobs", create_queue(sqs, "pipeline-jobs-dlq"))
    updates_queue = create_queue(sqs, "pipeline-updates", create_queue(sqs, "pipeline-updates-dlq"))
    # The pipeline's functions' environment, as template.yaml sets it.
    for name, value in {**env, "BLUEPRINT_JOBS_PIPELINE_QUEUE_URL": jobs_queue}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=env):
        created = requests.post(
            f"{base}/api/v1/jobs",
            data=png(),
            headers={"Content-Type": "image/png", "X-Correlation-ID": "e2e-pipeline", **auth},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        job = created.json()["data"]
        job_id = job["job_id"]
        early = requests.get(f"{base}/api/v1/jobs/{job_id}/result", headers=auth, timeout=10)
        assert early.status_code == 409
        assert early.json()["error"]["code"] == "JOB_NOT_FINISHED"

        # The outbox: the stream's records, as the event source mapping hands them over.
        stream = StreamPoller(env["BLUEPRINT_JOBS_TABLE"], endpoint_url=moto_server)
        records = stream.poll()
        assert outbox.handler({"Records": records}, Context()) == {"batchItemFailures": []}

        [sent] = receive_all(sqs, jobs_queue)
        message = json.loads(sent["Body"])
        assert message == {
            "schema_version": 1,
            "type": "job.created",
            "job_id": job_id,
            "owner": OWNER,
            "blueprint": {
                "key": job["blueprint_s3_key"],
                "format": "png",
                "sha256": job["blueprint_hash"],
                "size_bytes": len(png()),
            },
            "created_at": job["created_at"],
            "correlation_id": "e2e-pipeline",
        }
        assert sent["MessageAttributes"]["type"]["StringValue"] == "job.created"

        # The pipeline: it reads the blueprint, stores its result, and says so.
        blueprint = s3.get_object(
            Bucket=env["BLUEPRINT_JOBS_BUCKET"], Key=message["blueprint"]["key"]
        )
        assert blueprint["Body"].read() == png()
        result_key = f"results/{job_id}.json"
        detection = {"rooms": [{"name": "kitchen", "area_m2": 12.5}]}
        s3.put_object(
            Bucket=env["BLUEPRINT_JOBS_BUCKET"],
            Key=result_key,
            Body=json.dumps(detection).encode(),
            ContentType="application/json",
        )
        for update in (
            {"event_id": "ev-1", "job_id": job_id, "type": "started"},
            {"event_id": "ev-2", "job_id": job_id, "type": "completed", "result_key": result_key},
        ):
            sqs.send_message(QueueUrl=updates_queue, MessageBody=json.dumps(update))

        # The progress consumer, as its event source mapping hands it the updates.
        poller = QueuePoller(sqs, updates_queue)
        delivered = 0
        while records := poller.receive():
            result = progress_consumer.handler({"Records": records}, Context())
            assert result == {"batchItemFailures": []}
            poller.settle(records, result)
            delivered += len(records)
        assert delivered == 2

        fetched = requests.get(f"{base}/api/v1/jobs/{job_id}", headers=auth, timeout=10)
        assert fetched.json()["data"]["status"] == "completed"
        assert fetched.json()["data"]["version"] == 3
        answer = requests.get(f"{base}/api/v1/jobs/{job_id}/result", headers=auth, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {
            "job_id": job_id,
            "result_key": result_key,
            "result": detection,
        }
        feedback = requests.post(
            f"{base}/api/v1/jobs/{job_id}/feedback",
            json={"rating": 5, "comment": "Every room found"},
            headers=auth,
            timeout=10,
        )
        assert feedback.status_code == 201, feedback.text

        # The job's changes since (started, completed) send nothing more.
        assert outbox.handler({"Records": stream.poll()}, Context()) == {"batchItemFailures": []}
        assert receive_all(sqs, jobs_queue) == []
        # And the sweeper finds nothing stuck: the job has finished.
        scheduled = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        assert sweeper.handler(scheduled, Context()) == {"failed": [], "resent": []}
