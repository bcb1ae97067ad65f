"""Compute environments through the real aws CLI and boto3: Create, Describe, Update, Delete,
the docket:executor tag, and the refusals AWS documents (each leaving nothing changed)."""

import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique


class ComputeEnvironmentLifecycleTests(ServerTestCase):
    def describe(self, *names):
        return self.batch.describe_compute_environments(computeEnvironments=list(names))["computeEnvironments"]

    def test_fresh_server_has_the_default_environment(self):
        environments = self.describe("default")
        self.assertEqual(len(environments), 1)
        self.assertEqual(environments[0]["computeEnvironmentArn"], arn("compute-environment", "default"))
        self.assertEqual(environments[0]["status"], "VALID")

    def test_full_lifecycle_through_the_cli(self):
        name = unique("ce")
        created = self.assertCLIOk(self.aws("create-compute-environment", "--compute-environment-name", name,
                                            "--type", "UNMANAGED", "--state", "ENABLED",
                                            "--tags", "docket:executor=process,team=lab"))
        self.assertEqual(created["computeEnvironmentName"], name)
        self.assertEqual(created["computeEnvironmentArn"], arn("compute-environment", name))

        described = self.assertCLIOk(self.aws("describe-compute-environments", "--compute-environments", name))
        [environment] = described["computeEnvironments"]
        self.assertEqual(environment["computeEnvironmentName"], name)
        self.assertEqual(environment["type"], "UNMANAGED")
        self.assertEqual(environment["state"], "ENABLED")
        self.assertEqual(environment["status"], "VALID")
        self.assertEqual(environment["tags"], {"docket:executor": "process", "team": "lab"})

        # By ARN as well as by name.
        by_arn = self.assertCLIOk(self.aws("describe-compute-environments", "--compute-environments", arn("compute-environment", name)))
        self.assertEqual([e["computeEnvironmentName"] for e in by_arn["computeEnvironments"]], [name])

        updated = self.assertCLIOk(self.aws("update-compute-environment", "--compute-environment", name, "--state", "DISABLED"))
        self.assertEqual(updated["computeEnvironmentName"], name)
        self.assertEqual(updated["computeEnvironmentArn"], arn("compute-environment", name))
        self.assertEqual(self.describe(name)[0]["state"], "DISABLED")

        self.assertCLIOk(self.aws("delete-compute-environment", "--compute-environment", name))
        # AWS shows a deleted environment as DELETING/DELETED for a while, then not at all.
        remaining = [e for e in self.describe(name) if e.get("status") not in ("DELETING", "DELETED")]
        self.assertEqual(remaining, [])

    def test_managed_environment_keeps_compute_resources_as_sent(self):
        name = unique("ce")
        resources = {"type": "EC2", "minvCpus": 0, "maxvCpus": 4, "desiredvCpus": 0, "instanceTypes": ["optimal"],
                     "subnets": ["subnet-0abc"], "securityGroupIds": ["sg-0abc"], "instanceRole": "ecsInstanceRole"}
        self.batch.create_compute_environment(computeEnvironmentName=name, type="MANAGED", computeResources=resources,
                                              serviceRole="arn:aws:iam::000000000000:role/AWSBatchServiceRole",
                                              tags={"docket:executor": "process"})
        [environment] = self.describe(name)
        self.assertEqual(environment["type"], "MANAGED")
        for key, value in resources.items():
            self.assertEqual(environment["computeResources"][key], value, key)

        self.batch.update_compute_environment(computeEnvironment=arn("compute-environment", name),
                                              computeResources={"maxvCpus": 8})
        [environment] = self.describe(name)
        self.assertEqual(environment["computeResources"]["maxvCpus"], 8)
        self.assertEqual(environment["computeResources"]["subnets"], ["subnet-0abc"], "fields not updated are kept")

    def test_enabling_a_disabled_environment_runs_the_jobs_it_held(self):
        # AWS: in a DISABLED environment "the Batch scheduler doesn't attempt to place jobs".
        environment = self.create_ce(state="DISABLED")
        queue = self.create_queue(ces=[environment])
        job = self.submit(queue)
        self.wait_for_status(job["jobId"], "RUNNABLE")
        self.batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")
        self.assertEqual(self.wait_for_status(job["jobId"], {"SUCCEEDED", "FAILED"})["status"], "SUCCEEDED")

    def test_executor_tag_names_a_loaded_executor(self):
        name = self.create_ce(tags={"docket:executor": "process"})
        self.assertEqual(self.describe(name)[0]["tags"]["docket:executor"], "process")

    def test_environment_without_executor_tag_uses_the_default_executor(self):
        name = unique("ce")
        self.batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED")
        [environment] = self.describe(name)
        self.assertEqual(environment["status"], "VALID")

    def test_unknown_executor_is_refused_and_nothing_is_stored(self):
        name = unique("ce")
        err = self.assertCLIError(self.aws("create-compute-environment", "--compute-environment-name", name,
                                           "--type", "UNMANAGED", "--tags", "docket:executor=teleport"),
                                  "teleport", "process", operation="CreateComputeEnvironment")
        self.assertIn("executor", err)
        self.assertEqual(self.describe(name), [])

    def test_describe_of_unknown_names_is_an_empty_list(self):
        # AWS answers Describe* for names it does not know with an empty list, not an error.
        self.assertEqual(self.describe(unique("nope")), [])

    def test_describe_paginates_with_max_results_and_next_token(self):
        names = {self.create_ce() for _ in range(3)}
        seen, token, pages = [], None, 0
        while True:
            kwargs = {"maxResults": 1}
            if token:
                kwargs["nextToken"] = token
            page = self.batch.describe_compute_environments(**kwargs)
            self.assertLessEqual(len(page["computeEnvironments"]), 1)
            seen += [e["computeEnvironmentName"] for e in page["computeEnvironments"]]
            pages += 1
            token = page.get("nextToken")
            if not token:
                break
            self.assertLess(pages, 100, "pagination ends")
        self.assertEqual(len(seen), len(set(seen)), "no environment twice")
        self.assertTrue(names <= set(seen))
        self.assertIn("default", seen)

        paginated = [e["computeEnvironmentName"]
                     for page in self.batch.get_paginator("describe_compute_environments").paginate(PaginationConfig={"PageSize": 2})
                     for e in page["computeEnvironments"]]
        self.assertEqual(sorted(paginated), sorted(seen))

    def test_cli_paginates_describe_with_page_size(self):
        names = {self.create_ce() for _ in range(3)}
        out = self.assertCLIOk(self.aws("describe-compute-environments", "--page-size", "1"))
        listed = [e["computeEnvironmentName"] for e in out["computeEnvironments"]]
        self.assertTrue(names <= set(listed), "the CLI followed nextToken to the end")
        self.assertEqual(len(listed), len(set(listed)))


class ComputeEnvironmentRefusalTests(ServerTestCase):
    """Bad input answered with AWS's ClientException message, and no change stored."""

    def describe(self, name):
        return self.batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]

    def test_name_with_forbidden_characters_is_refused(self):
        for bad in ["bad name", "bad/name", "bad.name", "-leading"]:
            with self.subTest(name=bad):
                self.assertClientError(lambda: self.batch.create_compute_environment(computeEnvironmentName=bad, type="UNMANAGED"),
                                       "computeEnvironmentName")
        listed = [e["computeEnvironmentName"] for e in self.batch.describe_compute_environments()["computeEnvironments"]]
        self.assertFalse([n for n in listed if n.startswith(("bad", "-leading"))], "nothing stored")

    def test_name_with_forbidden_characters_through_the_cli(self):
        self.assertCLIError(self.aws("create-compute-environment", "--compute-environment-name", "lab#1", "--type", "UNMANAGED"),
                            "computeEnvironmentName", "lab#1", operation="CreateComputeEnvironment")
        self.assertEqual(self.describe("lab#1"), [])

    def test_name_longer_than_128_characters_is_refused(self):
        name = "a" * 129
        self.assertClientError(lambda: self.batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED"),
                               "computeEnvironmentName")
        self.assertEqual(self.describe(name), [])

    def test_duplicate_name_is_refused_and_the_original_is_unchanged(self):
        name = self.create_ce(state="DISABLED", tags={"owner": "first"})
        self.assertCLIError(self.aws("create-compute-environment", "--compute-environment-name", name, "--type", "UNMANAGED",
                                     "--state", "ENABLED", "--tags", "owner=second"),
                            "Object already exists", operation="CreateComputeEnvironment")
        [environment] = self.describe(name)
        self.assertEqual(environment["state"], "DISABLED")
        self.assertEqual(environment["tags"]["owner"], "first")

    def test_deleting_an_environment_still_attached_to_a_queue_is_refused(self):
        environment = self.create_ce(state="DISABLED")
        queue = self.create_queue(ces=[environment])
        self.assertCLIError(self.aws("delete-compute-environment", "--compute-environment", environment),
                            "Cannot delete, found existing JobQueue relationship", operation="DeleteComputeEnvironment")
        [kept] = self.describe(environment)
        self.assertEqual(kept["status"], "VALID")
        [described_queue] = self.batch.describe_job_queues(jobQueues=[queue])["jobQueues"]
        self.assertEqual([o["computeEnvironment"] for o in described_queue["computeEnvironmentOrder"]],
                         [arn("compute-environment", environment)])

    def test_deleting_an_enabled_environment_is_refused(self):
        # AWS: "Before you can delete a compute environment, you must set its state to DISABLED".
        environment = self.create_ce(state="ENABLED")
        self.assertClientError(lambda: self.batch.delete_compute_environment(computeEnvironment=environment), "DISABLED")
        self.assertEqual(len(self.describe(environment)), 1)

    def test_updating_an_unknown_environment_is_refused(self):
        name = unique("ghost")
        self.assertCLIError(self.aws("update-compute-environment", "--compute-environment", name, "--state", "DISABLED"),
                            name, operation="UpdateComputeEnvironment")
        self.assertEqual(self.describe(name), [])

    def test_deleting_an_unknown_environment_is_refused(self):
        # Guess: not documented; a user expects to hear the name is wrong, not a silent success.
        name = unique("ghost")
        self.assertClientError(lambda: self.batch.delete_compute_environment(computeEnvironment=name), name)

    def test_managed_environment_without_compute_resources_is_refused(self):
        name = unique("ce")
        self.assertClientError(lambda: self.batch.create_compute_environment(computeEnvironmentName=name, type="MANAGED"),
                               "computeResources")
        self.assertEqual(self.describe(name), [])

    def test_unmanaged_vcpus_on_a_managed_environment_is_refused(self):
        # The model: unmanagedvCpus "is only supported when the type parameter is set to UNMANAGED".
        name = unique("ce")
        self.assertClientError(lambda: self.batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED", unmanagedvCpus=4,
            computeResources={"type": "EC2", "maxvCpus": 4, "subnets": ["s"], "instanceRole": "r"}), "unmanagedvCpus")
        self.assertEqual(self.describe(name), [])

    def test_manual_scale_down_of_desired_vcpus_is_refused_with_aws_message(self):
        # The guide gives the message for a desiredvCpus below the current value.
        name = unique("ce")
        self.batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED",
            computeResources={"type": "EC2", "minvCpus": 0, "maxvCpus": 8, "desiredvCpus": 4, "subnets": ["s"], "instanceRole": "r"})
        self.assertCLIError(self.aws("update-compute-environment", "--compute-environment", name,
                                     "--compute-resources", "desiredvCpus=2"),
                            "Manually scaling down compute environment is not supported", operation="UpdateComputeEnvironment")
        self.assertEqual(self.describe(name)[0]["computeResources"]["desiredvCpus"], 4)

    def test_desired_vcpus_outside_min_and_max_is_refused(self):
        name = unique("ce")
        self.assertClientError(lambda: self.batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED",
            computeResources={"type": "EC2", "minvCpus": 2, "maxvCpus": 8, "desiredvCpus": 16, "subnets": ["s"], "instanceRole": "r"}),
            "desiredvCpus")
        self.assertEqual(self.describe(name), [])

    def test_tag_key_too_long_is_refused(self):
        name = unique("ce")
        self.assertClientError(lambda: self.raw.create_compute_environment(
            computeEnvironmentName=name, type="UNMANAGED", tags={"k" * 129: "v"}), "tags")
        self.assertEqual(self.describe(name), [])


class ConfigurationDeclaredEnvironmentTests(ServerTestCase):
    """Compute environments and queues declared in the configuration file are re-applied at every
    start, so the API refuses to change them (Docket's rule; the README states it)."""

    server_config = """\
compute_environments:
  - name: declared
    executor: process
    state: DISABLED
job_queues:
  - name: declared-queue
    priority: 3
    compute_environments: [declared]
"""

    def test_declared_resources_are_described_as_declared(self):
        [environment] = self.batch.describe_compute_environments(computeEnvironments=["declared"])["computeEnvironments"]
        self.assertEqual(environment["state"], "DISABLED")
        [queue] = self.batch.describe_job_queues(jobQueues=["declared-queue"])["jobQueues"]
        self.assertEqual(queue["priority"], 3)
        self.assertEqual(queue["computeEnvironmentOrder"], [{"order": 1, "computeEnvironment": arn("compute-environment", "declared")}])

    def test_declared_environment_cannot_be_updated_or_deleted(self):
        self.assertClientError(lambda: self.batch.update_compute_environment(computeEnvironment="declared", state="ENABLED"),
                               "configuration file")
        self.assertClientError(lambda: self.batch.delete_compute_environment(computeEnvironment="declared"),
                               "configuration file")
        [environment] = self.batch.describe_compute_environments(computeEnvironments=["declared"])["computeEnvironments"]
        self.assertEqual(environment["state"], "DISABLED")

    def test_declared_queue_cannot_be_updated(self):
        self.assertClientError(lambda: self.batch.update_job_queue(jobQueue="declared-queue", priority=9), "configuration file")
        [queue] = self.batch.describe_job_queues(jobQueues=["declared-queue"])["jobQueues"]
        self.assertEqual(queue["priority"], 3)


if __name__ == "__main__":
    unittest.main()
