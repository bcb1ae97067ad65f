"""Tags through the real aws CLI and boto3: TagResource, UntagResource and ListTagsForResource
on every resource kind, tags given at creation, AWS's limits, and the refusals."""

import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique


class TagTests(ServerTestCase):
    def tags(self, resource_arn):
        return self.batch.list_tags_for_resource(resourceArn=resource_arn)["tags"]

    def resources(self):
        """One fresh resource of every taggable kind: (kind, ARN, tags it was created with)."""
        environment = self.create_ce(state="DISABLED", tags={"docket:executor": "process", "made": "ce"})
        queue = unique("jq")
        self.batch.create_job_queue(jobQueueName=queue, priority=1, tags={"made": "jq"},
                                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])
        definition = self.register(tags={"made": "jd"})
        job = self.submit(queue, tags={"made": "job"})
        policy = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={}, tags={"made": "sp"})
        resource = self.batch.create_consumable_resource(consumableResourceName=unique("lic"), totalQuantity=1, tags={"made": "cr"})
        share = self.batch.create_quota_share(
            quotaShareName=unique("share"), jobQueue=queue, capacityLimits=[{"capacityUnit": "VCPU", "maxCapacity": 1}],
            resourceSharingConfiguration={"strategy": "RESERVE"}, preemptionConfiguration={"inSharePreemption": "DISABLED"},
            tags={"made": "qs"})
        return [
            ("compute-environment", arn("compute-environment", environment), {"docket:executor": "process", "made": "ce"}),
            ("job-queue", arn("job-queue", queue), {"made": "jq"}),
            ("job-definition", definition["jobDefinitionArn"], {"made": "jd"}),
            ("job", job["jobArn"], {"made": "job"}),
            ("scheduling-policy", policy["arn"], {"made": "sp"}),
            ("consumable-resource", resource["consumableResourceArn"], {"made": "cr"}),
            ("quota-share", share["quotaShareArn"], {"made": "qs"}),
        ]

    def test_every_resource_kind_lists_the_tags_it_was_created_with(self):
        for kind, resource_arn, created in self.resources():
            with self.subTest(kind=kind):
                self.assertEqual(self.tags(resource_arn), created)

    def test_tag_overwrites_and_adds_untag_removes_on_every_kind(self):
        for kind, resource_arn, created in self.resources():
            with self.subTest(kind=kind):
                self.batch.tag_resource(resourceArn=resource_arn, tags={"made": "again", "env": "test", "empty": ""})
                expected = dict(created, made="again", env="test", empty="")
                self.assertEqual(self.tags(resource_arn), expected, "existing tags not named are unchanged")
                self.batch.untag_resource(resourceArn=resource_arn, tagKeys=["made", "empty"])
                expected.pop("made")
                expected.pop("empty")
                self.assertEqual(self.tags(resource_arn), expected)

    def test_tags_through_the_cli(self):
        environment = self.create_ce(state="DISABLED")
        resource_arn = arn("compute-environment", environment)
        self.assertCLIOk(self.aws("tag-resource", "--resource-arn", resource_arn, "--tags", "a=1,b=2,c=3"))
        listed = self.assertCLIOk(self.aws("list-tags-for-resource", "--resource-arn", resource_arn))
        self.assertEqual(listed["tags"], {"docket:executor": "process", "a": "1", "b": "2", "c": "3"})
        self.assertCLIOk(self.aws("untag-resource", "--resource-arn", resource_arn, "--tag-keys", "a", "c"))
        self.assertEqual(self.tags(resource_arn), {"docket:executor": "process", "b": "2"})

    def test_describe_calls_return_the_current_tags(self):
        environment = self.create_ce(state="DISABLED")
        self.batch.tag_resource(resourceArn=arn("compute-environment", environment), tags={"k": "v"})
        [described] = self.batch.describe_compute_environments(computeEnvironments=[environment])["computeEnvironments"]
        self.assertEqual(described["tags"]["k"], "v")
        job = self.submit(self.held_queue())
        self.batch.tag_resource(resourceArn=job["jobArn"], tags={"k": "v"})
        self.assertEqual(self.describe_job(job["jobId"])["tags"], {"k": "v"})

    def test_untagging_a_key_that_is_not_there_changes_nothing(self):
        # Guess: AWS's documentation does not say; tagging APIs across AWS treat it as a no-op.
        environment = self.create_ce(state="DISABLED")
        resource_arn = arn("compute-environment", environment)
        self.batch.untag_resource(resourceArn=resource_arn, tagKeys=["never-set"])
        self.assertEqual(self.tags(resource_arn), {"docket:executor": "process"})

    def test_tags_are_deleted_with_the_resource(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1, tags={"old": "yes"})
        self.batch.delete_consumable_resource(consumableResource=name)
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        self.assertEqual(self.tags(arn("consumable-resource", name)), {})

    def test_more_than_50_tags_are_refused_and_nothing_is_added(self):
        environment = self.create_ce(state="DISABLED")
        resource_arn = arn("compute-environment", environment)
        self.batch.tag_resource(resourceArn=resource_arn, tags={f"k{i}": "v" for i in range(40)})
        self.assertClientError(lambda: self.batch.tag_resource(resourceArn=resource_arn, tags={f"n{i}": "v" for i in range(11)}),
                               "50")
        self.assertEqual(len(self.tags(resource_arn)), 41)
        name = unique("jq")
        self.assertClientError(lambda: self.raw.create_job_queue(
            jobQueueName=name, priority=1, tags={f"k{i}": "v" for i in range(51)},
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}]), "tags")
        self.assertEqual(self.batch.describe_job_queues(jobQueues=[name])["jobQueues"], [], "tagging at creation is all-or-nothing")

    def test_tag_key_and_value_lengths_are_limited(self):
        environment = self.create_ce(state="DISABLED")
        resource_arn = arn("compute-environment", environment)
        self.assertClientError(lambda: self.raw.tag_resource(resourceArn=resource_arn, tags={"k" * 129: "v"}), "tags")
        self.assertClientError(lambda: self.raw.tag_resource(resourceArn=resource_arn, tags={"k": "v" * 257}), "tags")
        self.assertEqual(self.tags(resource_arn), {"docket:executor": "process"})

    def test_the_aws_prefix_is_reserved(self):
        # The tagging guide: the aws: prefix (any case) is reserved for AWS's use.
        environment = self.create_ce(state="DISABLED")
        resource_arn = arn("compute-environment", environment)
        self.assertClientError(lambda: self.batch.tag_resource(resourceArn=resource_arn, tags={"AWS:owner": "me"}), "aws:")
        self.assertEqual(self.tags(resource_arn), {"docket:executor": "process"})

    def test_unknown_or_malformed_arns_are_refused(self):
        ghost = arn("job-queue", unique("ghost"))
        self.assertCLIError(self.aws("list-tags-for-resource", "--resource-arn", ghost), ghost, operation="ListTagsForResource")
        self.assertClientError(lambda: self.batch.tag_resource(resourceArn=ghost, tags={"a": "b"}), ghost)
        self.assertClientError(lambda: self.batch.untag_resource(resourceArn=ghost, tagKeys=["a"]), ghost)
        self.assertClientError(lambda: self.batch.list_tags_for_resource(resourceArn="not-an-arn"), "resourceArn")
        self.assertClientError(lambda: self.batch.list_tags_for_resource(
            resourceArn=arn("job-definition", f"{unique('ghost')}:1")), "resourceArn")

    def test_array_child_arns_are_not_accepted(self):
        # The model: "ARNs for child jobs of array and multi-node parallel (MNP) jobs aren't supported."
        parent = self.submit(self.held_queue(), arrayProperties={"size": 2}, tags={"made": "array"})
        child_arn = arn("job", f"{parent['jobId']}:0")
        self.assertClientError(lambda: self.batch.tag_resource(resourceArn=child_arn, tags={"a": "b"}), "resourceArn")
        self.assertEqual(self.tags(parent["jobArn"]), {"made": "array"})


if __name__ == "__main__":
    unittest.main()
