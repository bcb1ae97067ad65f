"""Every class of validation error, as AWS users meet it.

Through the real aws CLI where botocore does not catch the mistake client-side (enums, ranges,
forbidden name characters, nested members): the CLI exits 255 and prints
`An error occurred (ClientException) when calling the OP operation: MESSAGE`, and the message
names the member with its path. Through boto3 with parameter validation off for what botocore
would refuse before sending (wrong types, missing required members). After every refusal,
nothing was stored."""

import json
import unittest

from Tests.api.docket_server import ServerTestCase, unique

CONTAINER = {"image": "busybox", "command": ["true"],
             "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}


class ValidationTests(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        environment = unique("ce")
        cls.batch.create_compute_environment(computeEnvironmentName=environment, type="UNMANAGED", state="DISABLED",
                                             tags={"docket:executor": "process"})
        cls.environment = environment
        cls.queue = unique("jq")
        cls.batch.create_job_queue(jobQueueName=cls.queue, priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])

    # ---- what "nothing stored" means, per kind ----------------------------------------------

    def job_names(self):
        return {j["jobName"] for p in self.batch.get_paginator("list_jobs").paginate(
            jobQueue=self.queue, filters=[{"name": "JOB_NAME", "values": ["*"]}]) for j in p["jobSummaryList"]}

    def environment_names(self):
        return {e["computeEnvironmentName"] for p in self.batch.get_paginator("describe_compute_environments").paginate()
                for e in p["computeEnvironments"]}

    def queue_names(self):
        return {q["jobQueueName"] for p in self.batch.get_paginator("describe_job_queues").paginate() for q in p["jobQueues"]}

    def definition_names(self):
        return {d["jobDefinitionName"] for p in self.batch.get_paginator("describe_job_definitions").paginate()
                for d in p["jobDefinitions"]}

    def submit_args(self, name, *extra):
        return ["submit-job", "--job-name", name, "--job-queue", self.queue, "--job-definition", "default", *extra]

    def assertCases(self, cases, stored):
        """Each (aws args, operation, fragments) is refused by the CLI; `stored()` is unchanged."""
        before = stored()
        for args, operation, fragments in cases:
            with self.subTest(args=" ".join(args)[:120]):
                self.assertCLIError(self.aws(*args), *fragments, operation=operation)
        self.assertEqual(stored(), before, "nothing was stored by the refused requests")

    # ---- enums ------------------------------------------------------------------------------

    def test_enum_values_outside_the_model_are_refused(self):
        name = unique("bad")
        self.assertCases([
            (["create-compute-environment", "--compute-environment-name", name, "--type", "HYBRID"],
             "CreateComputeEnvironment", ["type", "HYBRID"]),
            (["create-compute-environment", "--compute-environment-name", name, "--type", "UNMANAGED", "--state", "PAUSED"],
             "CreateComputeEnvironment", ["state", "PAUSED"]),
        ], self.environment_names)
        self.assertCases([
            (["create-job-queue", "--job-queue-name", name, "--priority", "1", "--state", "OFF",
              "--compute-environment-order", f"order=1,computeEnvironment={self.environment}"],
             "CreateJobQueue", ["state", "OFF"]),
            (["create-job-queue", "--job-queue-name", name, "--priority", "1",
              "--compute-environment-order", f"order=1,computeEnvironment={self.environment}",
              "--job-state-time-limit-actions", "reason=CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY,state=RUNNABLE,maxTimeSeconds=600,action=KILL"],
             "CreateJobQueue", ["jobStateTimeLimitActions[0].action", "KILL"]),
        ], self.queue_names)
        self.assertCases([
            (["register-job-definition", "--job-definition-name", name, "--type", "docker", "--container-properties", json.dumps(CONTAINER)],
             "RegisterJobDefinition", ["type", "docker"]),
            (["register-job-definition", "--job-definition-name", name, "--type", "container", "--container-properties",
              json.dumps(dict(CONTAINER, resourceRequirements=[{"type": "VCPU", "value": "1"}, {"type": "TPU", "value": "1"}]))],
             "RegisterJobDefinition", ["containerProperties.resourceRequirements[1].type", "TPU"]),
            (["register-job-definition", "--job-definition-name", name, "--type", "container", "--container-properties",
              json.dumps(CONTAINER), "--platform-capabilities", "QUANTUM"],
             "RegisterJobDefinition", ["platformCapabilities", "QUANTUM"]),
        ], self.definition_names)
        self.assertCases([
            (self.submit_args(name, "--retry-strategy", '{"attempts": 2, "evaluateOnExit": [{"action": "MAYBE", "onExitCode": "1"}]}'),
             "SubmitJob", ["retryStrategy.evaluateOnExit[0].action", "MAYBE"]),
            (["list-jobs", "--job-queue", self.queue, "--job-status", "DONE"], "ListJobs", ["jobStatus", "DONE"]),
        ], self.job_names)

    def test_evaluate_on_exit_action_is_case_insensitive(self):
        # AWS documents `action` as case-insensitive.
        job = self.submit(self.queue, retryStrategy={"attempts": 2, "evaluateOnExit": [{"action": "retry", "onExitCode": "1"}]})
        self.assertEqual(self.describe_job(job["jobId"])["retryStrategy"]["attempts"], 2)

    # ---- ranges -----------------------------------------------------------------------------

    def test_values_outside_documented_ranges_are_refused(self):
        name = unique("bad")
        self.assertCases([
            (self.submit_args(name, "--timeout", "attemptDurationSeconds=59"), "SubmitJob", ["timeout.attemptDurationSeconds", "59"]),
            (self.submit_args(name, "--retry-strategy", "attempts=0"), "SubmitJob", ["retryStrategy.attempts"]),
            (self.submit_args(name, "--retry-strategy", "attempts=11"), "SubmitJob", ["retryStrategy.attempts", "11"]),
            (self.submit_args(name, "--array-properties", "size=1"), "SubmitJob", ["arrayProperties.size"]),
            (self.submit_args(name, "--array-properties", "size=10001"), "SubmitJob", ["arrayProperties.size"]),
            (self.submit_args(name, "--scheduling-priority-override", "10000"), "SubmitJob", ["schedulingPriorityOverride"]),
            (["describe-compute-environments", "--max-results", "101"], "DescribeComputeEnvironments", ["maxResults"]),
            (["describe-job-queues", "--max-results", "0"], "DescribeJobQueues", ["maxResults"]),
        ], self.job_names)

    def test_list_lengths_beyond_aws_limits_are_refused(self):
        held = self.submit(self.queue)["jobId"]
        before = self.job_names()
        name = unique("bad")
        # A job may depend on at most 20 jobs.
        self.assertClientError(lambda: self.batch.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default",
                                                             dependsOn=[{"jobId": held}] * 21), "dependsOn")
        # evaluateOnExit has at most 5 entries.
        self.assertClientError(lambda: self.batch.submit_job(
            jobName=name, jobQueue=self.queue, jobDefinition="default",
            retryStrategy={"attempts": 2, "evaluateOnExit": [{"action": "RETRY", "onExitCode": str(i)} for i in range(6)]}),
            "retryStrategy.evaluateOnExit")
        # DescribeJobs takes up to 100 job ids.
        self.assertClientError(lambda: self.batch.describe_jobs(jobs=[held] * 101), "jobs")
        self.assertEqual(self.job_names(), before)

    def test_retry_rules_are_checked(self):
        before = self.job_names()
        name = unique("bad")
        # evaluateOnExit needs attempts; onExitCode is digits with an optional trailing *.
        self.assertClientError(lambda: self.batch.submit_job(
            jobName=name, jobQueue=self.queue, jobDefinition="default",
            retryStrategy={"evaluateOnExit": [{"action": "RETRY", "onExitCode": "1"}]}), "retryStrategy.attempts")
        self.assertClientError(lambda: self.batch.submit_job(
            jobName=name, jobQueue=self.queue, jobDefinition="default",
            retryStrategy={"attempts": 2, "evaluateOnExit": [{"action": "RETRY", "onExitCode": "one"}]}),
            "retryStrategy.evaluateOnExit[0].onExitCode")
        self.assertEqual(self.job_names(), before)

    def test_job_definition_over_24_kib_is_refused(self):
        # AWS's fixed quota: a RegisterJobDefinition request is at most 24 KiB.
        name = unique("big")
        before = self.definition_names()
        big = {f"p{i}": "x" * 1000 for i in range(26)}
        self.assertClientError(lambda: self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=CONTAINER, parameters=big))
        self.assertEqual(self.definition_names(), before)

    def test_submit_job_payload_over_30_kib_is_refused(self):
        # AWS's fixed quota: a SubmitJob payload is at most 30 KiB.
        name = unique("big")
        before = self.job_names()
        big = {f"p{i}": "x" * 1000 for i in range(32)}
        self.assertClientError(lambda: self.batch.submit_job(
            jobName=name, jobQueue=self.queue, jobDefinition="default", parameters=big))
        self.assertEqual(self.job_names(), before)

    # ---- names ------------------------------------------------------------------------------

    def test_names_with_characters_aws_forbids_are_refused_for_every_kind(self):
        bad = ["has space", "semi;colon", "slash/", "star*", "é-accent", "-leading-hyphen", "x" * 129]
        queues, environments, definitions = self.queue_names(), self.environment_names(), self.definition_names()
        jobs = self.job_names()
        policies = {p["arn"] for p in self.batch.list_scheduling_policies()["schedulingPolicies"]}
        resources = {r["consumableResourceName"] for r in self.batch.list_consumable_resources()["consumableResources"]}
        for name in bad:
            with self.subTest(name=name):
                self.assertClientError(lambda: self.batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED"),
                                       "computeEnvironmentName")
                self.assertClientError(lambda: self.batch.create_job_queue(
                    jobQueueName=name, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": self.environment}]),
                    "jobQueueName")
                self.assertClientError(lambda: self.batch.register_job_definition(
                    jobDefinitionName=name, type="container", containerProperties=CONTAINER), "jobDefinitionName")
                self.assertClientError(lambda: self.batch.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default"),
                                       "jobName")
                self.assertClientError(lambda: self.batch.create_scheduling_policy(name=name, fairsharePolicy={}), "name")
                self.assertClientError(lambda: self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1),
                                       "consumableResourceName")
                self.assertClientError(lambda: self.batch.create_quota_share(
                    quotaShareName=name, jobQueue=self.queue, capacityLimits=[{"capacityUnit": "VCPU", "maxCapacity": 1}],
                    resourceSharingConfiguration={"strategy": "RESERVE"}, preemptionConfiguration={"inSharePreemption": "DISABLED"}),
                    "quotaShareName")
        self.assertEqual(self.queue_names(), queues)
        self.assertEqual(self.environment_names(), environments)
        self.assertEqual(self.definition_names(), definitions)
        self.assertEqual(self.job_names(), jobs)
        self.assertEqual({p["arn"] for p in self.batch.list_scheduling_policies()["schedulingPolicies"]}, policies)
        self.assertEqual({r["consumableResourceName"] for r in self.batch.list_consumable_resources()["consumableResources"]}, resources)
        self.assertEqual(self.batch.list_quota_shares(jobQueue=self.queue)["quotaShares"], [])

    def test_job_names_through_the_cli(self):
        self.assertCases([
            (self.submit_args("bad name"), "SubmitJob", ["jobName", "bad name"]),
            (self.submit_args("_underscore-first"), "SubmitJob", ["jobName"]),
        ], self.job_names)

    def test_names_may_use_letters_digits_hyphens_and_underscores(self):
        name = "Az09-_" + unique("ok").replace("-", "_")
        self.create_ce(name=name, state="DISABLED")
        self.create_queue(name=name, ces=[name])
        self.register(name)
        self.submit(name, name=name)
        self.batch.create_scheduling_policy(name=name, fairsharePolicy={})
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)

    # ---- duplicates -------------------------------------------------------------------------

    def test_duplicate_names_are_refused_for_every_kind_that_has_unique_names(self):
        # "Object already exists" is AWS's wording for compute environments and queues; we
        # expect it for the other kinds too. Job definitions take a new revision instead.
        name = unique("dup")
        self.create_ce(name=name, state="DISABLED")
        self.create_queue(name=name, ces=[name])
        self.batch.create_scheduling_policy(name=name, fairsharePolicy={})
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        share = dict(quotaShareName=name, jobQueue=name, capacityLimits=[{"capacityUnit": "VCPU", "maxCapacity": 1}],
                     resourceSharingConfiguration={"strategy": "RESERVE"}, preemptionConfiguration={"inSharePreemption": "DISABLED"})
        self.batch.create_quota_share(**share)
        calls = {
            "CreateComputeEnvironment": lambda: self.batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED"),
            "CreateJobQueue": lambda: self.batch.create_job_queue(
                jobQueueName=name, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": name}]),
            "CreateSchedulingPolicy": lambda: self.batch.create_scheduling_policy(name=name, fairsharePolicy={}),
            "CreateConsumableResource": lambda: self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1),
            "CreateQuotaShare": lambda: self.batch.create_quota_share(**share),
        }
        for operation, call in calls.items():
            with self.subTest(operation=operation):
                self.assertClientError(call, "Object already exists")

    # ---- nested members ---------------------------------------------------------------------

    def test_messages_name_nested_members_with_their_path(self):
        name = unique("bad")
        overrides = {"command": ["true"], "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                                                          {"name": "AWS_BATCH_JOB_ID", "value": "x"}]}
        self.assertCases([
            (self.submit_args(name, "--container-overrides", json.dumps(overrides)),
             "SubmitJob", ["containerOverrides.environment[2].name", "AWS_BATCH"]),
            (self.submit_args(name, "--container-overrides", '{"resourceRequirements": [{"type": "VCPU", "value": "zero"}]}'),
             "SubmitJob", ["containerOverrides.resourceRequirements[0].value", "zero"]),
            (self.submit_args(name, "--container-overrides", '{"command": ["echo", ""]}'),
             "SubmitJob", ["containerOverrides.command"]),
            (self.submit_args(name, "--depends-on", "jobId=abc,type=ALL_AT_ONCE"),
             "SubmitJob", ["dependsOn[0].type", "ALL_AT_ONCE"]),
        ], self.job_names)
        self.assertCases([
            (["create-job-queue", "--job-queue-name", name, "--priority", "1",
              "--compute-environment-order", f"order=1,computeEnvironment={self.environment}",
              "--job-state-time-limit-actions", "reason=CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY,state=RUNNABLE,maxTimeSeconds=60,action=CANCEL"],
             "CreateJobQueue", ["jobStateTimeLimitActions[0].maxTimeSeconds"]),
        ], self.queue_names)

    def test_deprecated_vcpus_override_cannot_override_resource_requirements(self):
        # AWS: vcpus and memory given with the deprecated keys can't override what the job
        # definition sets in resourceRequirements; the request is refused.
        definition = self.register()["jobDefinitionName"]  # sets VCPU and MEMORY in resourceRequirements
        before = self.job_names()
        message = self.assertClientError(lambda: self.batch.submit_job(
            jobName=unique("bad"), jobQueue=self.queue, jobDefinition=definition,
            containerOverrides={"command": ["true"], "vcpus": 2}), "deprecated")
        self.assertIn("vcpus", message)
        self.assertEqual(self.job_names(), before)

    # ---- wrong types (botocore would refuse them; sent with validation off) ------------------

    def test_scalar_members_of_the_wrong_type_are_refused(self):
        name = unique("bad")
        before = (self.job_names(), self.queue_names(), self.definition_names())
        cases = [
            (lambda: self.raw.create_job_queue(jobQueueName=name, priority="high",
                                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment": self.environment}]), "priority"),
            (lambda: self.raw.create_job_queue(jobQueueName=name, priority=1,
                                               computeEnvironmentOrder=[{"order": "first", "computeEnvironment": self.environment}]),
             "computeEnvironmentOrder[0].order"),
            (lambda: self.raw.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default",
                                         containerOverrides={"environment": [{"name": "A", "value": 5}]}),
             "containerOverrides.environment[0].value"),
            (lambda: self.raw.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default",
                                         retryStrategy={"attempts": "3"}), "retryStrategy.attempts"),
            (lambda: self.raw.submit_job(jobName=123, jobQueue=self.queue, jobDefinition="default"), "jobName"),
            (lambda: self.raw.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default", propagateTags="yes"),
             "propagateTags"),
            (lambda: self.raw.register_job_definition(jobDefinitionName=name, type="container",
                                                      containerProperties=dict(CONTAINER, privileged="yes")),
             "containerProperties.privileged"),
            (lambda: self.raw.list_jobs(jobQueue=self.queue, maxResults=1.5), "maxResults"),
        ]
        for call, member in cases:
            with self.subTest(member=member):
                self.assertClientError(call, member)
        self.assertEqual((self.job_names(), self.queue_names(), self.definition_names()), before)

    def test_lists_maps_and_objects_of_the_wrong_shape_are_refused(self):
        # botocore cannot even serialize these, so they go over raw HTTP.
        name = unique("bad")
        before = (self.job_names(), self.definition_names(), self.environment_names())
        cases = [
            ("submitjob", {"jobName": name, "jobQueue": self.queue, "jobDefinition": "default", "parameters": ["a"]}, "parameters"),
            ("submitjob", {"jobName": name, "jobQueue": self.queue, "jobDefinition": "default",
                           "containerOverrides": {"command": "true"}}, "containerOverrides.command"),
            ("submitjob", {"jobName": name, "jobQueue": self.queue, "jobDefinition": "default",
                           "containerOverrides": [{"command": ["true"]}]}, "containerOverrides"),
            ("registerjobdefinition", {"jobDefinitionName": name, "type": "container", "containerProperties": CONTAINER,
                                       "tags": ["a", "b"]}, "tags"),
            ("createcomputeenvironment", {"computeEnvironmentName": name, "type": "MANAGED", "computeResources": "big"},
             "computeResources"),
            ("describejobs", {"jobs": "abc"}, "jobs"),
        ]
        for operation, body, member in cases:
            with self.subTest(operation=operation, member=member):
                status, headers, answer = self.server.http("POST", f"/v1/{operation}", json.dumps(body))
                self.assertEqual(status, 400, answer[:300])
                self.assertEqual(headers.get("x-amzn-errortype"), "ClientException")
                self.assertIn(member, json.loads(answer)["message"])
        self.assertEqual((self.job_names(), self.definition_names(), self.environment_names()), before)

    # ---- missing required members (sent with validation off) --------------------------------

    def test_missing_required_members_are_refused(self):
        name = unique("bad")
        before = (self.job_names(), self.queue_names(), self.definition_names())
        job_id = self.submit(self.queue)["jobId"]
        before = (self.job_names(), self.queue_names(), self.definition_names())
        cases = [
            (lambda: self.raw.submit_job(jobQueue=self.queue, jobDefinition="default"), "jobName"),
            (lambda: self.raw.submit_job(jobName=name, jobDefinition="default"), "jobQueue"),
            (lambda: self.raw.submit_job(jobName=name, jobQueue=self.queue), "jobDefinition"),
            (lambda: self.raw.create_job_queue(jobQueueName=name,
                                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment": self.environment}]), "priority"),
            (lambda: self.raw.create_job_queue(jobQueueName=name, priority=1,
                                               computeEnvironmentOrder=[{"computeEnvironment": self.environment}]),
             "computeEnvironmentOrder[0].order"),
            (lambda: self.raw.register_job_definition(jobDefinitionName=name, containerProperties=CONTAINER), "type"),
            (lambda: self.raw.submit_job(jobName=name, jobQueue=self.queue, jobDefinition="default",
                                         containerOverrides={"resourceRequirements": [{"type": "VCPU"}]}),
             "containerOverrides.resourceRequirements[0].value"),
            (lambda: self.raw.cancel_job(jobId=job_id), "reason"),
            (lambda: self.raw.terminate_job(reason="x"), "jobId"),
            (lambda: self.raw.describe_jobs(), "jobs"),
            (lambda: self.raw.create_quota_share(
                quotaShareName=name, jobQueue=self.queue, capacityLimits=[{"capacityUnit": "VCPU"}],
                resourceSharingConfiguration={"strategy": "RESERVE"}, preemptionConfiguration={"inSharePreemption": "DISABLED"}),
             "capacityLimits[0].maxCapacity"),
        ]
        for call, member in cases:
            with self.subTest(member=member):
                self.assertClientError(call, member)
        self.assertEqual((self.job_names(), self.queue_names(), self.definition_names()), before)
        self.assertEqual(self.describe_job(job_id)["status"], "RUNNABLE", "the cancel without a reason did nothing")


if __name__ == "__main__":
    unittest.main()
