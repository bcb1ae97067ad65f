"""Job queues through the real aws CLI and boto3: Create, Describe, Update, Delete, and the
refusals AWS documents (each leaving the stored queue as it was)."""

import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique


class JobQueueLifecycleTests(ServerTestCase):
    def describe(self, *names):
        return self.batch.describe_job_queues(jobQueues=list(names))["jobQueues"]

    def test_fresh_server_has_the_default_queue(self):
        [queue] = self.describe("default")
        self.assertEqual(queue["jobQueueArn"], arn("job-queue", "default"))
        self.assertEqual(queue["state"], "ENABLED")
        self.assertEqual(queue["status"], "VALID")

    def test_full_lifecycle_through_the_cli(self):
        first, second = self.create_ce(state="DISABLED"), self.create_ce(state="DISABLED")
        name = unique("jq")
        created = self.assertCLIOk(self.aws(
            "create-job-queue", "--job-queue-name", name, "--priority", "5", "--state", "ENABLED",
            "--compute-environment-order", f"order=1,computeEnvironment={first}",
            f"order=2,computeEnvironment={arn('compute-environment', second)}",
            "--tags", "team=lab"))
        self.assertEqual(created, {"jobQueueName": name, "jobQueueArn": arn("job-queue", name)})

        described = self.assertCLIOk(self.aws("describe-job-queues", "--job-queues", name))
        [queue] = described["jobQueues"]
        self.assertEqual(queue["priority"], 5)
        self.assertEqual(queue["state"], "ENABLED")
        self.assertEqual(queue["status"], "VALID")
        self.assertEqual(queue["tags"], {"team": "lab"})
        self.assertEqual(queue["computeEnvironmentOrder"], [
            {"order": 1, "computeEnvironment": arn("compute-environment", first)},
            {"order": 2, "computeEnvironment": arn("compute-environment", second)},
        ])

        updated = self.assertCLIOk(self.aws(
            "update-job-queue", "--job-queue", arn("job-queue", name), "--priority", "7", "--state", "DISABLED",
            "--compute-environment-order", f"order=1,computeEnvironment={second}"))
        self.assertEqual(updated, {"jobQueueName": name, "jobQueueArn": arn("job-queue", name)})
        [queue] = self.describe(arn("job-queue", name))
        self.assertEqual(queue["priority"], 7)
        self.assertEqual(queue["state"], "DISABLED")
        self.assertEqual(queue["computeEnvironmentOrder"], [{"order": 1, "computeEnvironment": arn("compute-environment", second)}])

        self.assertCLIOk(self.aws("delete-job-queue", "--job-queue", name))
        remaining = [q for q in self.describe(name) if q.get("status") not in ("DELETING", "DELETED")]
        self.assertEqual(remaining, [])
        # The environments it used are free again: they can be deleted now.
        self.batch.delete_compute_environment(computeEnvironment=first)

    def test_job_state_time_limit_actions_are_stored_and_returned(self):
        actions = [{"reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "state": "RUNNABLE",
                    "maxTimeSeconds": 600, "action": "CANCEL"}]
        name = self.create_queue(jobStateTimeLimitActions=actions)
        [queue] = self.describe(name)
        self.assertEqual(queue["jobStateTimeLimitActions"], actions)

    def test_disabled_queue_refuses_new_jobs(self):
        # AWS: "If the job queue state is DISABLED, new jobs can't be added to the queue".
        name = self.create_queue(state="DISABLED")
        self.assertClientError(lambda: self.submit(name), name)
        self.assertEqual(self.batch.list_jobs(jobQueue=name, filters=[{"name": "JOB_NAME", "values": ["*"]}])["jobSummaryList"], [])

    def test_deleting_a_queue_eventually_fails_its_jobs(self):
        # AWS: "All jobs in the queue are eventually terminated when you delete a job queue."
        name = self.create_queue()
        job = self.submit(name)
        self.wait_for_status(job["jobId"], "RUNNABLE")
        self.batch.update_job_queue(jobQueue=name, state="DISABLED")
        self.batch.delete_job_queue(jobQueue=name)
        self.wait_for_status(job["jobId"], "FAILED")

    def test_describe_of_unknown_queues_is_an_empty_list(self):
        self.assertEqual(self.describe(unique("nope")), [])

    def test_describe_paginates_with_max_results_and_next_token(self):
        names = {self.create_queue() for _ in range(3)}
        seen, token = [], None
        for _ in range(50):
            kwargs = {"maxResults": 2, **({"nextToken": token} if token else {})}
            page = self.batch.describe_job_queues(**kwargs)
            self.assertLessEqual(len(page["jobQueues"]), 2)
            seen += [q["jobQueueName"] for q in page["jobQueues"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertIsNone(token, "the last page has no nextToken")
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue(names | {"default"} <= set(seen))
        paginated = [q["jobQueueName"] for page in self.batch.get_paginator("describe_job_queues").paginate(PaginationConfig={"PageSize": 1})
                     for q in page["jobQueues"]]
        self.assertEqual(sorted(paginated), sorted(seen))


class JobQueueRefusalTests(ServerTestCase):
    def describe(self, name):
        return self.batch.describe_job_queues(jobQueues=[name])["jobQueues"]

    def test_name_with_forbidden_characters_is_refused(self):
        environment = self.create_ce(state="DISABLED")
        self.assertCLIError(self.aws("create-job-queue", "--job-queue-name", "my queue", "--priority", "1",
                                     "--compute-environment-order", f"order=1,computeEnvironment={environment}"),
                            "jobQueueName", operation="CreateJobQueue")
        self.assertEqual(self.describe("my queue"), [])
        for bad in ["q*", "q:1", "q.x", "_q"]:
            with self.subTest(name=bad):
                self.assertClientError(lambda: self.batch.create_job_queue(
                    jobQueueName=bad, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}]),
                    "jobQueueName")
                self.assertEqual(self.describe(bad), [])

    def test_duplicate_name_is_refused_and_the_original_is_unchanged(self):
        name = self.create_queue(priority=4)
        environment = self.create_ce(state="DISABLED")
        self.assertCLIError(self.aws("create-job-queue", "--job-queue-name", name, "--priority", "9",
                                     "--compute-environment-order", f"order=1,computeEnvironment={environment}"),
                            "Object already exists", operation="CreateJobQueue")
        [queue] = self.describe(name)
        self.assertEqual(queue["priority"], 4)
        self.assertNotIn(arn("compute-environment", environment), [o["computeEnvironment"] for o in queue["computeEnvironmentOrder"]])

    def test_creating_a_queue_on_an_unknown_environment_is_refused(self):
        name, ghost = unique("jq"), unique("ghost")
        self.assertClientError(lambda: self.batch.create_job_queue(
            jobQueueName=name, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ghost}]), ghost)
        self.assertEqual(self.describe(name), [])

    def test_updating_a_queue_to_an_unknown_environment_is_refused_and_nothing_changes(self):
        environment = self.create_ce(state="DISABLED")
        name = self.create_queue(ces=[environment], priority=2)
        ghost = unique("ghost")
        self.assertCLIError(self.aws("update-job-queue", "--job-queue", name, "--priority", "8",
                                     "--compute-environment-order", f"order=1,computeEnvironment={ghost}"),
                            "computeEnvironmentOrder", ghost, operation="UpdateJobQueue")
        [queue] = self.describe(name)
        self.assertEqual(queue["priority"], 2, "the priority sent with the refused update is not stored either")
        self.assertEqual(queue["computeEnvironmentOrder"], [{"order": 1, "computeEnvironment": arn("compute-environment", environment)}])

    def test_more_than_three_environments_are_refused(self):
        # AWS: "You can associate up to three compute environments with a job queue."
        environments = [self.create_ce(state="DISABLED") for _ in range(4)]
        name = unique("jq")
        self.assertClientError(lambda: self.batch.create_job_queue(
            jobQueueName=name, priority=1,
            computeEnvironmentOrder=[{"order": i + 1, "computeEnvironment": e} for i, e in enumerate(environments)]),
            "computeEnvironmentOrder")
        self.assertEqual(self.describe(name), [])

    def test_ec2_and_fargate_environments_cannot_share_a_queue(self):
        # AWS: "All of the compute environments must be either EC2 (EC2 or SPOT) or Fargate
        # (FARGATE or FARGATE_SPOT); EC2 and Fargate compute environments can't be mixed."
        ec2, fargate = unique("ec2"), unique("fargate")
        self.batch.create_compute_environment(computeEnvironmentName=ec2, type="MANAGED", state="DISABLED",
                                              computeResources={"type": "EC2", "maxvCpus": 4, "subnets": ["s"], "instanceRole": "r"})
        self.batch.create_compute_environment(computeEnvironmentName=fargate, type="MANAGED", state="DISABLED",
                                              computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": ["s"]})
        name = unique("jq")
        self.assertClientError(lambda: self.batch.create_job_queue(
            jobQueueName=name, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ec2},
                                                                    {"order": 2, "computeEnvironment": fargate}]),
            "computeEnvironmentOrder")
        self.assertEqual(self.describe(name), [])

    def test_deleting_an_enabled_queue_is_refused(self):
        # AWS: "You must first disable submissions for a queue with the UpdateJobQueue operation."
        name = self.create_queue(state="ENABLED")
        self.assertClientError(lambda: self.batch.delete_job_queue(jobQueue=name), "DISABLED")
        self.assertEqual(len(self.describe(name)), 1)

    def test_updating_an_unknown_queue_is_refused(self):
        name = unique("ghost")
        self.assertClientError(lambda: self.batch.update_job_queue(jobQueue=name, priority=3), name)
        self.assertEqual(self.describe(name), [])

    def test_deleting_an_unknown_queue_is_refused(self):
        name = unique("ghost")
        self.assertClientError(lambda: self.batch.delete_job_queue(jobQueue=name), name)

    def test_time_limit_action_outside_600_to_86400_seconds_is_refused(self):
        environment = self.create_ce(state="DISABLED")
        for seconds in (599, 86401):
            with self.subTest(maxTimeSeconds=seconds):
                name = unique("jq")
                self.assertClientError(lambda: self.batch.create_job_queue(
                    jobQueueName=name, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
                    jobStateTimeLimitActions=[{"reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "state": "RUNNABLE",
                                               "maxTimeSeconds": seconds, "action": "CANCEL"}]),
                    "maxTimeSeconds")
                self.assertEqual(self.describe(name), [])


if __name__ == "__main__":
    unittest.main()
