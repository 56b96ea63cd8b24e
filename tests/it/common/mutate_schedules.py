"""Change one field of deployed schedules, as an operator would, through
Temporal's own Python SDK and its raw WorkflowService: describe, change
exactly that field of the described schedule, update with the conflict
token, then wait until a describe shows it.

Reads JSON from stdin: {"address": ..., "changes": [{"namespace", "schedule_id", "field"}]}.
"""

import asyncio
import json
import os
import sys
import traceback
import uuid

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, RetryPolicy
from temporalio.api.schedule.v1 import IntervalSpec, Range, StructuredCalendarSpec
from temporalio.api.workflowservice.v1 import DescribeScheduleRequest, UpdateScheduleRequest
from temporalio.client import Client

SECOND = 1_000_000_000


def payload(value):
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def longer(duration, by=SECOND):
    duration.FromNanoseconds(duration.ToNanoseconds() + by)


def change(schedule, field):
    spec, policies = schedule.spec, schedule.policies
    workflow = schedule.action.start_workflow
    retry = workflow.retry_policy
    memo = workflow.memo.fields
    if field == "calendars":
        # Second 30: no generated cron has it.
        spec.structured_calendar.append(
            StructuredCalendarSpec(
                second=[Range(start=30, end=30, step=1)],
                minute=[Range(start=17, end=17, step=1)],
                hour=[Range(start=5, end=5, step=1)],
            )
        )
    elif field == "intervals":
        spec.interval.append(IntervalSpec(interval=Duration(seconds=7777)))
    elif field == "timezone":
        spec.timezone_name = "Pacific/Auckland"
    elif field == "jitter":
        longer(spec.jitter, 7 * SECOND)
    elif field in ("start_at", "end_at"):
        stamp = spec.start_time if field == "start_at" else spec.end_time
        seconds = stamp.seconds + 86_400 if stamp.seconds else 1_900_000_000
        stamp.FromNanoseconds(seconds * SECOND)
    elif field == "overlap":
        # ALLOW_ALL, or BUFFER_ONE when it already is.
        policies.overlap_policy = 2 if policies.overlap_policy == 6 else 6
    elif field == "catchup_window":
        if policies.HasField("catchup_window"):
            longer(policies.catchup_window, 60 * SECOND)
        else:
            policies.catchup_window.FromSeconds(3600)
    elif field == "pause_on_failure":
        policies.pause_on_failure = not policies.pause_on_failure
    elif field == "workflow_id":
        workflow.workflow_id += "x"
    elif field == "workflow_type":
        workflow.workflow_type.name += "X"
    elif field == "task_queue":
        workflow.task_queue.name += "-x"
    elif field == "input":
        value = json.loads(workflow.input.payloads[0].data)
        value["x-injected"] = True
        workflow.input.payloads[0].CopyFrom(payload(value))
    elif field == "execution_timeout":
        longer(workflow.workflow_execution_timeout)
    elif field == "run_timeout":
        longer(workflow.workflow_run_timeout)
    elif field == "task_timeout":
        longer(workflow.workflow_task_timeout)
    elif field == "retry_policy":
        if workflow.HasField("retry_policy"):
            workflow.ClearField("retry_policy")
        else:
            workflow.retry_policy.CopyFrom(RetryPolicy(maximum_attempts=3))
    elif field == "retry_initial_interval":
        longer(retry.initial_interval)
    elif field == "retry_backoff_coefficient":
        retry.backoff_coefficient = (retry.backoff_coefficient or 2.0) + 0.5
    elif field == "retry_maximum_interval":
        longer(retry.maximum_interval)
    elif field == "retry_maximum_attempts":
        retry.maximum_attempts = 7 if retry.maximum_attempts == 2147483647 else retry.maximum_attempts + 1
    elif field == "retry_non_retryable_error_types":
        retry.non_retryable_error_types.append("InjectedError")
    elif field == "memo":
        memo["injected"].CopyFrom(payload("by hand"))
    elif field == "image":
        memo["planguard_image"].CopyFrom(payload({"ref": "registry.example/injected:1"}))
    elif field == "secrets":
        memo["planguard_secrets"].CopyFrom(payload([{"name": "injected", "ref": "vault://x/y"}]))
    elif field == "build":
        memo["planguard_build"].CopyFrom(payload("999"))
    elif field == "git_sha":
        memo["planguard_git_sha"].CopyFrom(payload("f" * 40))
    elif field == "plan_sha256":
        memo["planguard_plan_sha256"].CopyFrom(payload("0" * 64))
    elif field == "paused":
        schedule.state.paused = True
        schedule.state.notes = "paused by hand"
    else:
        raise SystemExit(f"no way to change {field}")


async def apply(clients, address, item):
    namespace = item["namespace"]
    if namespace not in clients:
        clients[namespace] = await Client.connect(address, namespace=namespace)
    service = clients[namespace].workflow_service
    request = DescribeScheduleRequest(namespace=namespace, schedule_id=item["schedule_id"])
    described = await service.describe_schedule(request)
    schedule = described.schedule
    change(schedule, item["field"])
    await service.update_schedule(
        UpdateScheduleRequest(
            namespace=namespace,
            schedule_id=item["schedule_id"],
            schedule=schedule,
            conflict_token=described.conflict_token,
            identity="operator",
            request_id=str(uuid.uuid4()),
        )
    )
    # The scheduler applies an update when its workflow next runs, which on
    # a loaded machine can take seconds: up to 30 s, and on a miss what the
    # server held last, so that the next one can be told apart from a bug.
    seen = None
    for _ in range(600):
        seen = (await service.describe_schedule(request)).schedule
        if seen == schedule:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"{item} never showed up in a describe; last described:\n{seen}\nsent:\n{schedule}")


async def main():
    job = json.load(sys.stdin)
    clients = {}
    for namespace in sorted({item["namespace"] for item in job["changes"]}):
        clients[namespace] = await Client.connect(job["address"], namespace=namespace)
    # Several at once: each waits for its own change to show.
    limit = asyncio.Semaphore(16)

    async def one(item):
        async with limit:
            await apply(clients, job["address"], item)

    await asyncio.gather(*(one(item) for item in job["changes"]))


# The SDK's native client can crash while the interpreter finalizes, after
# the work is done; leave without finalizing, with the work's own status.
try:
    asyncio.run(main())
except BaseException:
    traceback.print_exc()
    sys.stderr.flush()
    os._exit(1)
sys.stderr.flush()
os._exit(0)
