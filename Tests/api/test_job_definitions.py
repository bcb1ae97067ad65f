"""Job definitions through the real aws CLI and boto3: revisions, the three ways to name one
(name = latest ACTIVE revision, name:revision, ARN), deregistration and its refusals."""

import json
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

CONTAINER = {"image": "busybox", "command": ["echo", "Ref::word"],
             "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}


class JobDefinitionLifecycleTests(ServerTestCase):
    def describe(self, **kwargs):
        return self.batch.describe_job_definitions(**kwargs)["jobDefinitions"]

    def test_fresh_server_has_the_default_definition(self):
        [definition] = self.describe(jobDefinitionName="default", status="ACTIVE")
        self.assertEqual(definition["jobDefinitionArn"], arn("job-definition", "default:1"))

    def test_registering_a_name_again_adds_a_revision(self):
        name = unique("jd")
        first = self.assertCLIOk(self.aws("register-job-definition", "--job-definition-name", name, "--type", "container",
                                          "--container-properties", json.dumps(CONTAINER), "--parameters", "word=one"))
        self.assertEqual(first, {"jobDefinitionName": name, "jobDefinitionArn": arn("job-definition", f"{name}:1"), "revision": 1})
        second = self.assertCLIOk(self.aws("register-job-definition", "--job-definition-name", name, "--type", "container",
                                           "--container-properties", json.dumps(CONTAINER), "--parameters", "word=two"))
        self.assertEqual(second["revision"], 2)
        self.assertEqual(second["jobDefinitionArn"], arn("job-definition", f"{name}:2"))

        described = self.assertCLIOk(self.aws("describe-job-definitions", "--job-definition-name", name))
        by_revision = {d["revision"]: d for d in described["jobDefinitions"]}
        self.assertEqual(sorted(by_revision), [1, 2])
        self.assertEqual(by_revision[1]["parameters"], {"word": "one"})
        self.assertEqual(by_revision[2]["parameters"], {"word": "two"})
        for definition in by_revision.values():
            self.assertEqual(definition["status"], "ACTIVE")
            self.assertEqual(definition["type"], "container")
            self.assertEqual(definition["containerProperties"]["image"], "busybox")
            self.assertEqual(definition["containerProperties"]["command"], ["echo", "Ref::word"])

    def test_definitions_are_addressable_by_name_revision_and_arn(self):
        name = unique("jd")
        self.register(name)
        self.register(name)
        [by_short] = self.describe(jobDefinitions=[f"{name}:1"])
        self.assertEqual(by_short["revision"], 1)
        [by_arn] = self.describe(jobDefinitions=[arn("job-definition", f"{name}:2")])
        self.assertEqual(by_arn["revision"], 2)

    def test_optional_members_are_returned_as_registered(self):
        name = unique("jd")
        self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=CONTAINER, parameters={"word": "hi"},
            retryStrategy={"attempts": 3, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "1"}]},
            timeout={"attemptDurationSeconds": 120}, tags={"owner": "lab"}, propagateTags=True,
            schedulingPriority=10, platformCapabilities=["EC2"])
        [definition] = self.describe(jobDefinitions=[f"{name}:1"])
        self.assertEqual(definition["retryStrategy"]["attempts"], 3)
        # AWS documents `action` as case-insensitive, so compare it that way.
        [rule] = definition["retryStrategy"]["evaluateOnExit"]
        self.assertEqual((rule["action"].upper(), rule["onExitCode"]), ("EXIT", "1"))
        self.assertEqual(definition["timeout"], {"attemptDurationSeconds": 120})
        self.assertEqual(definition["tags"], {"owner": "lab"})
        self.assertEqual(definition["propagateTags"], True)
        self.assertEqual(definition["schedulingPriority"], 10)
        self.assertEqual(definition["platformCapabilities"], ["EC2"])

    def test_deregistered_revision_is_inactive_and_the_name_resolves_to_the_latest_active(self):
        name = unique("jd")
        self.register(name)
        self.register(name)
        self.assertCLIOk(self.aws("deregister-job-definition", "--job-definition", f"{name}:2"))
        statuses = {d["revision"]: d["status"] for d in self.describe(jobDefinitionName=name)}
        self.assertEqual(statuses, {1: "ACTIVE", 2: "INACTIVE"})
        self.assertEqual([d["revision"] for d in self.describe(jobDefinitionName=name, status="ACTIVE")], [1])

        queue = self.held_queue()
        job = self.submit(queue, definition=name)
        self.assertEqual(self.describe_job(job["jobId"])["jobDefinition"], arn("job-definition", f"{name}:1"),
                         "the name alone means the latest ACTIVE revision")

    def test_deregistering_by_arn(self):
        name = unique("jd")
        self.register(name)
        self.batch.deregister_job_definition(jobDefinition=arn("job-definition", f"{name}:1"))
        [definition] = self.describe(jobDefinitions=[f"{name}:1"])
        self.assertEqual(definition["status"], "INACTIVE")

    def test_revisions_are_never_reused_after_deregistration(self):
        name = unique("jd")
        self.register(name)
        self.batch.deregister_job_definition(jobDefinition=f"{name}:1")
        self.assertEqual(self.register(name)["revision"], 2)

    def test_describe_of_unknown_definitions_is_an_empty_list(self):
        self.assertEqual(self.describe(jobDefinitionName=unique("nope")), [])
        self.assertEqual(self.describe(jobDefinitions=[f"{unique('nope')}:1"]), [])

    def test_describe_paginates_with_max_results_and_next_token(self):
        name = unique("jd")
        for _ in range(5):
            self.register(name)
        seen, token = [], None
        for _ in range(20):
            page = self.batch.describe_job_definitions(jobDefinitionName=name, maxResults=2, **({"nextToken": token} if token else {}))
            self.assertLessEqual(len(page["jobDefinitions"]), 2)
            seen += [d["revision"] for d in page["jobDefinitions"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(sorted(seen), [1, 2, 3, 4, 5])
        paginated = [d["revision"] for page in self.batch.get_paginator("describe_job_definitions").paginate(
            jobDefinitionName=name, PaginationConfig={"PageSize": 3}) for d in page["jobDefinitions"]]
        self.assertEqual(sorted(paginated), [1, 2, 3, 4, 5])
        cli = self.assertCLIOk(self.aws("describe-job-definitions", "--job-definition-name", name, "--page-size", "2"))
        self.assertEqual(sorted(d["revision"] for d in cli["jobDefinitions"]), [1, 2, 3, 4, 5])


class JobDefinitionRefusalTests(ServerTestCase):
    def describe_name(self, name):
        return self.batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]

    def test_name_with_forbidden_characters_is_refused(self):
        self.assertCLIError(self.aws("register-job-definition", "--job-definition-name", "my:def", "--type", "container",
                                     "--container-properties", json.dumps(CONTAINER)),
                            "jobDefinitionName", operation="RegisterJobDefinition")
        for bad in ["with space", "slash/name", "dot.name", "a" * 129]:
            with self.subTest(name=bad):
                self.assertClientError(lambda: self.batch.register_job_definition(
                    jobDefinitionName=bad, type="container", containerProperties=CONTAINER), "jobDefinitionName")
        registered = {d["jobDefinitionName"] for page in self.batch.get_paginator("describe_job_definitions").paginate()
                      for d in page["jobDefinitions"]}
        self.assertEqual(registered & {"my:def", "with space", "slash/name", "dot.name", "a" * 129}, set(), "nothing stored")

    def test_submitting_a_deregistered_revision_is_refused(self):
        name = unique("jd")
        self.register(name)
        self.register(name)
        self.batch.deregister_job_definition(jobDefinition=f"{name}:2")
        queue = self.held_queue()
        job_name = unique("job")
        err = self.assertCLIError(self.aws("submit-job", "--job-name", job_name, "--job-queue", queue,
                                           "--job-definition", f"{name}:2"),
                                  f"{name}:2", operation="SubmitJob")
        self.assertIn("ACTIVE", err)
        self.assertClientError(lambda: self.submit(queue, definition=arn("job-definition", f"{name}:2")), "ACTIVE")
        listed = self.batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [job_name]}])["jobSummaryList"]
        self.assertEqual(listed, [], "no job was stored")

    def test_submitting_a_name_whose_revisions_are_all_deregistered_is_refused(self):
        name = unique("jd")
        self.register(name)
        self.batch.deregister_job_definition(jobDefinition=f"{name}:1")
        self.assertClientError(lambda: self.submit(self.held_queue(), definition=name), name)

    def test_deregistering_an_unknown_revision_is_refused(self):
        name = unique("jd")
        self.assertCLIError(self.aws("deregister-job-definition", "--job-definition", f"{name}:1"),
                            name, operation="DeregisterJobDefinition")

    def test_container_definition_without_properties_is_refused(self):
        # The model: "If the value is container, then one of the following is required:
        # containerProperties, ecsProperties, or eksProperties."
        name = unique("jd")
        self.assertClientError(lambda: self.batch.register_job_definition(jobDefinitionName=name, type="container"),
                               "containerProperties")
        self.assertEqual(self.describe_name(name), [])

    def test_scheduling_priority_outside_0_to_9999_is_refused(self):
        name = unique("jd")
        self.assertClientError(lambda: self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=CONTAINER, schedulingPriority=10000),
            "schedulingPriority")
        self.assertEqual(self.describe_name(name), [])

    def test_memory_below_4_mib_is_refused(self):
        name = unique("jd")
        props = dict(CONTAINER, resourceRequirements=[{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2"}])
        self.assertClientError(lambda: self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=props), "MEMORY")
        self.assertEqual(self.describe_name(name), [])

    def test_reserved_environment_names_are_refused(self):
        name = unique("jd")
        props = dict(CONTAINER, environment=[{"name": "OK", "value": "1"}, {"name": "AWS_BATCH_JOB_ID", "value": "x"}])
        self.assertClientError(lambda: self.batch.register_job_definition(
            jobDefinitionName=name, type="container", containerProperties=props),
            "containerProperties.environment[1].name")
        self.assertEqual(self.describe_name(name), [])


if __name__ == "__main__":
    unittest.main()
