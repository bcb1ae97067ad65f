"""Jobs through the real aws CLI and boto3: SubmitJob, DescribeJobs, CancelJob, TerminateJob.

Jobs on the queue `held` stay RUNNABLE: its only compute environment is declared DISABLED in the
configuration file. Jobs on `default` run on the process executor."""

import time
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

HELD_CONFIG = """\
compute_environments:
  - name: held
    executor: process
    state: DISABLED
job_queues:
  - name: held
    priority: 1
    compute_environments: [held]
"""


def now_ms():
    return int(time.time() * 1000)


class SubmitAndDescribeTests(ServerTestCase):
    server_config = HELD_CONFIG

    def test_a_job_runs_to_success_and_is_described_as_aws_does(self):
        before = now_ms()
        name = unique("job")
        submitted = self.assertCLIOk(self.aws("submit-job", "--job-name", name, "--job-queue", "default",
                                              "--job-definition", "default",
                                              "--container-overrides", '{"command":["true"]}'))
        job_id = submitted["jobId"]
        self.assertEqual(submitted["jobName"], name)
        self.assertEqual(submitted["jobArn"], arn("job", job_id))

        job = self.wait_for_status(job_id, {"SUCCEEDED", "FAILED"})
        after = now_ms()
        self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        self.assertEqual(job["jobName"], name)
        self.assertEqual(job["jobArn"], arn("job", job_id))
        self.assertEqual(job["jobQueue"], arn("job-queue", "default"))
        self.assertEqual(job["jobDefinition"], arn("job-definition", "default:1"))
        # Times are epoch milliseconds.
        self.assertTrue(before - 1000 <= job["createdAt"] <= after, job["createdAt"])
        self.assertTrue(job["createdAt"] <= job["startedAt"] <= job["stoppedAt"] <= after + 1000)
        [attempt] = job["attempts"]
        self.assertEqual(attempt["container"]["exitCode"], 0)
        self.assertFalse(job.get("isCancelled", False))
        self.assertFalse(job.get("isTerminated", False))

        described = self.assertCLIOk(self.aws("describe-jobs", "--jobs", job_id))
        self.assertEqual([j["jobId"] for j in described["jobs"]], [job_id])

    def test_a_failing_command_fails_the_job_with_its_exit_code(self):
        job = self.submit("default", containerOverrides={"command": ["false"]})
        described = self.wait_for_status(job["jobId"], {"SUCCEEDED", "FAILED"})
        self.assertEqual(described["status"], "FAILED")
        self.assertEqual(described["attempts"][-1]["container"]["exitCode"], 1)

    def test_jobs_are_described_by_id_and_by_arn(self):
        job = self.submit("held")
        by_arn = self.batch.describe_jobs(jobs=[arn("job", job["jobId"])])["jobs"]
        self.assertEqual([j["jobId"] for j in by_arn], [job["jobId"]])
        self.assertEqual(self.describe_job(job["jobId"])["status"], "RUNNABLE")

    def test_describe_of_unknown_ids_leaves_them_out(self):
        # AWS answers DescribeJobs for ids it does not know with an empty list, not an error.
        job = self.submit("held")
        described = self.batch.describe_jobs(jobs=[job["jobId"], "00000000-0000-0000-0000-000000000000"])["jobs"]
        self.assertEqual([j["jobId"] for j in described], [job["jobId"]])

    def test_job_definition_is_resolved_by_name_revision_and_arn(self):
        name = unique("jd")
        self.register(name)
        self.register(name)
        cases = {name: 2, f"{name}:1": 1, arn("job-definition", f"{name}:1"): 1,
                 arn("job-definition", name): 2}
        for reference, revision in cases.items():
            with self.subTest(jobDefinition=reference):
                job = self.submit("held", definition=reference)
                self.assertEqual(self.describe_job(job["jobId"])["jobDefinition"], arn("job-definition", f"{name}:{revision}"))

    def test_job_queue_is_resolved_by_arn(self):
        job = self.submit(arn("job-queue", "held"))
        self.assertEqual(self.describe_job(job["jobId"])["jobQueue"], arn("job-queue", "held"))

    def test_overrides_and_parameters_are_kept(self):
        job = self.submit("held", parameters={"word": "hi"}, timeout={"attemptDurationSeconds": 90},
                          retryStrategy={"attempts": 2},
                          containerOverrides={"command": ["echo", "Ref::word"], "environment": [{"name": "A", "value": "1"}],
                                              "resourceRequirements": [{"type": "VCPU", "value": "1"}]})
        described = self.describe_job(job["jobId"])
        self.assertEqual(described["parameters"]["word"], "hi")
        self.assertEqual(described["timeout"], {"attemptDurationSeconds": 90})
        self.assertEqual(described["retryStrategy"]["attempts"], 2)
        self.assertIn({"name": "A", "value": "1"}, described["container"]["environment"])

    def test_unknown_queue_and_definition_are_refused(self):
        ghost = unique("ghost")
        self.assertCLIError(self.aws("submit-job", "--job-name", "j", "--job-queue", ghost, "--job-definition", "default"),
                            ghost, operation="SubmitJob")
        self.assertClientError(lambda: self.submit("held", definition=ghost), ghost)

    def test_a_dependent_job_waits_pending_and_fails_when_its_dependency_fails(self):
        first = self.submit("held")
        second = self.submit("held", dependsOn=[{"jobId": first["jobId"]}])
        self.assertEqual(self.wait_for_status(second["jobId"], "PENDING")["dependsOn"], [{"jobId": first["jobId"]}])
        self.batch.cancel_job(jobId=first["jobId"], reason="not needed")
        self.wait_for_status(second["jobId"], "FAILED")


class CancelAndTerminateTests(ServerTestCase):
    server_config = HELD_CONFIG

    def test_cancel_fails_a_runnable_job_with_the_reason(self):
        job = self.submit("held")
        self.wait_for_status(job["jobId"], "RUNNABLE")
        self.assertCLIOk(self.aws("cancel-job", "--job-id", job["jobId"], "--reason", "changed my mind"))
        described = self.wait_for_status(job["jobId"], "FAILED")
        self.assertEqual(described["statusReason"], "changed my mind")
        self.assertTrue(described["isCancelled"])

    def test_terminate_of_a_runnable_job_cancels_it(self):
        job = self.submit("held")
        self.wait_for_status(job["jobId"], "RUNNABLE")
        self.assertCLIOk(self.aws("terminate-job", "--job-id", job["jobId"], "--reason", "stop"))
        described = self.wait_for_status(job["jobId"], "FAILED")
        self.assertEqual(described["statusReason"], "stop")

    def test_terminate_stops_a_running_job(self):
        job = self.submit("default", containerOverrides={"command": ["sleep", "60"]})
        self.wait_for_status(job["jobId"], "RUNNING")
        self.batch.terminate_job(jobId=job["jobId"], reason="taking too long")
        described = self.wait_for_status(job["jobId"], "FAILED", timeout=45)
        self.assertEqual(described["statusReason"], "taking too long")
        self.assertTrue(described["isTerminated"])

    def test_cancel_of_a_running_job_succeeds_and_changes_nothing(self):
        # AWS: "Jobs that progressed to the STARTING or RUNNING state aren't canceled. However,
        # the API operation still succeeds".
        job = self.submit("default", containerOverrides={"command": ["sleep", "60"]})
        self.wait_for_status(job["jobId"], "RUNNING")
        self.batch.cancel_job(jobId=job["jobId"], reason="too late")
        time.sleep(0.5)
        self.assertEqual(self.describe_job(job["jobId"])["status"], "RUNNING")
        self.batch.terminate_job(jobId=job["jobId"], reason="clean up")
        self.wait_for_status(job["jobId"], "FAILED", timeout=45)

    def test_cancel_and_terminate_accept_the_job_arn(self):
        # The model calls the member "The Batch job ID"; like every other job reference in the
        # API we expect the ARN to work too (guess: a user would expect it).
        job = self.submit("held")
        self.batch.cancel_job(jobId=arn("job", job["jobId"]), reason="by arn")
        self.assertEqual(self.wait_for_status(job["jobId"], "FAILED")["statusReason"], "by arn")

    def test_cancel_of_an_unknown_job_is_refused(self):
        # Guess: AWS's documentation does not say; a user expects to hear that the id is wrong.
        ghost = "00000000-0000-0000-0000-000000000000"
        self.assertCLIError(self.aws("cancel-job", "--job-id", ghost, "--reason", "x"), ghost, operation="CancelJob")
        self.assertClientError(lambda: self.batch.terminate_job(jobId=ghost, reason="x"), ghost)

    def test_reason_over_1024_characters_is_refused_and_the_job_is_untouched(self):
        job = self.submit("held")
        self.wait_for_status(job["jobId"], "RUNNABLE")
        self.assertClientError(lambda: self.batch.cancel_job(jobId=job["jobId"], reason="x" * 1025), "reason")
        self.assertEqual(self.describe_job(job["jobId"])["status"], "RUNNABLE")


if __name__ == "__main__":
    unittest.main()
