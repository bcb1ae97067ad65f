"""Scheduling policies through the real aws CLI and boto3: Create, Describe, List, Update,
Delete, their use by job queues, and the refusals AWS documents."""

import json
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

FAIRSHARE = {"shareDecaySeconds": 3600, "computeReservation": 10,
             "shareDistribution": [{"shareIdentifier": "teamA", "weightFactor": 0.5},
                                   {"shareIdentifier": "lab*", "weightFactor": 2.0}]}


class SchedulingPolicyLifecycleTests(ServerTestCase):
    def describe(self, *arns):
        return self.batch.describe_scheduling_policies(arns=list(arns))["schedulingPolicies"]

    def listed_arns(self):
        return [p["arn"] for page in self.batch.get_paginator("list_scheduling_policies").paginate()
                for p in page["schedulingPolicies"]]

    def test_full_lifecycle_through_the_cli(self):
        name = unique("fs")
        created = self.assertCLIOk(self.aws("create-scheduling-policy", "--name", name,
                                            "--fairshare-policy", json.dumps(FAIRSHARE), "--tags", "team=lab"))
        policy_arn = arn("scheduling-policy", name)
        self.assertEqual(created, {"name": name, "arn": policy_arn})

        described = self.assertCLIOk(self.aws("describe-scheduling-policies", "--arns", policy_arn))
        [policy] = described["schedulingPolicies"]
        self.assertEqual(policy["name"], name)
        self.assertEqual(policy["arn"], policy_arn)
        self.assertEqual(policy["fairsharePolicy"], FAIRSHARE)
        self.assertEqual(policy["tags"], {"team": "lab"})

        listed = self.assertCLIOk(self.aws("list-scheduling-policies"))
        self.assertIn({"arn": policy_arn}, listed["schedulingPolicies"])

        changed = {"shareDecaySeconds": 600, "computeReservation": 50, "shareDistribution": [{"shareIdentifier": "teamB", "weightFactor": 0.25}]}
        self.assertCLIOk(self.aws("update-scheduling-policy", "--arn", policy_arn, "--fairshare-policy", json.dumps(changed)))
        self.assertEqual(self.describe(policy_arn)[0]["fairsharePolicy"], changed)

        self.assertCLIOk(self.aws("delete-scheduling-policy", "--arn", policy_arn))
        self.assertEqual(self.describe(policy_arn), [])
        self.assertNotIn(policy_arn, self.listed_arns())

    def test_quota_share_policy_is_stored_and_returned(self):
        name = unique("qs")
        policy_arn = self.batch.create_scheduling_policy(name=name, quotaSharePolicy={"idleResourceAssignmentStrategy": "FIFO"})["arn"]
        [policy] = self.describe(policy_arn)
        self.assertEqual(policy["quotaSharePolicy"], {"idleResourceAssignmentStrategy": "FIFO"})
        self.assertNotIn("fairsharePolicy", policy)

    def test_list_paginates_with_max_results_and_next_token(self):
        created = {self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={})["arn"] for _ in range(3)}
        seen, token = [], None
        for _ in range(20):
            page = self.batch.list_scheduling_policies(maxResults=1, **({"nextToken": token} if token else {}))
            self.assertLessEqual(len(page["schedulingPolicies"]), 1)
            seen += [p["arn"] for p in page["schedulingPolicies"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertIsNone(token)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue(created <= set(seen))

    def test_describe_of_unknown_arns_is_an_empty_list(self):
        self.assertEqual(self.describe(arn("scheduling-policy", unique("nope"))), [])

    def test_queue_with_a_policy_can_switch_to_another_policy(self):
        first = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={})["arn"]
        second = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={})["arn"]
        queue = self.create_queue(schedulingPolicyArn=first)
        self.batch.update_job_queue(jobQueue=queue, schedulingPolicyArn=second)
        [described] = self.batch.describe_job_queues(jobQueues=[queue])["jobQueues"]
        self.assertEqual(described["schedulingPolicyArn"], second)

    def test_fair_share_queue_requires_a_share_identifier(self):
        # The model: shareIdentifier "must be specified" if the queue has a fair-share policy,
        # and must not be specified if it does not.
        policy = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={})["arn"]
        fair = self.create_queue(schedulingPolicyArn=policy)
        self.assertClientError(lambda: self.submit(fair), "shareIdentifier")
        job = self.submit(fair, shareIdentifier="teamA", schedulingPriorityOverride=5)
        described = self.describe_job(job["jobId"])
        self.assertEqual(described["shareIdentifier"], "teamA")
        self.assertEqual(described["schedulingPriority"], 5)
        fifo = self.held_queue()
        self.assertClientError(lambda: self.submit(fifo, shareIdentifier="teamA"), "shareIdentifier")


class SchedulingPolicyRefusalTests(ServerTestCase):
    def describe(self, name):
        return self.batch.describe_scheduling_policies(arns=[arn("scheduling-policy", name)])["schedulingPolicies"]

    def test_name_with_forbidden_characters_is_refused(self):
        self.assertCLIError(self.aws("create-scheduling-policy", "--name", "fair share", "--fairshare-policy", "{}"),
                            "name", operation="CreateSchedulingPolicy")
        listed = [p["arn"] for p in self.batch.list_scheduling_policies()["schedulingPolicies"]]
        self.assertFalse([a for a in listed if "fair share" in a])

    def test_duplicate_name_is_refused_and_the_original_is_unchanged(self):
        # AWS's wording for a duplicate compute environment or queue; we expect the same here.
        name = unique("fs")
        self.batch.create_scheduling_policy(name=name, fairsharePolicy={"shareDecaySeconds": 100})
        self.assertCLIError(self.aws("create-scheduling-policy", "--name", name, "--fairshare-policy", '{"shareDecaySeconds": 200}'),
                            "Object already exists", operation="CreateSchedulingPolicy")
        self.assertEqual(self.describe(name)[0]["fairsharePolicy"]["shareDecaySeconds"], 100)

    def test_both_policy_kinds_at_once_are_refused(self):
        # The model: "Only one of fairsharePolicy or quotaSharePolicy can be set."
        name = unique("fs")
        self.assertClientError(lambda: self.batch.create_scheduling_policy(
            name=name, fairsharePolicy={}, quotaSharePolicy={"idleResourceAssignmentStrategy": "FIFO"}), "quotaSharePolicy")
        self.assertEqual(self.describe(name), [])

    def test_the_policy_kind_cannot_change(self):
        # The model: "Once set, this policy type cannot be removed or changed".
        name = unique("fs")
        policy = self.batch.create_scheduling_policy(name=name, fairsharePolicy={"computeReservation": 5})["arn"]
        self.assertClientError(lambda: self.batch.update_scheduling_policy(
            arn=policy, quotaSharePolicy={"idleResourceAssignmentStrategy": "FIFO"}), "fair-share")
        [described] = self.describe(name)
        self.assertEqual(described["fairsharePolicy"]["computeReservation"], 5)
        self.assertNotIn("quotaSharePolicy", described)

    def test_out_of_range_fair_share_values_are_refused(self):
        cases = [
            ({"computeReservation": 100}, "computeReservation"),
            ({"shareDecaySeconds": 604801}, "shareDecaySeconds"),
            ({"shareDistribution": [{"shareIdentifier": "a", "weightFactor": 0}]}, "fairsharePolicy.shareDistribution[0].weightFactor"),
            ({"shareDistribution": [{"shareIdentifier": "a", "weightFactor": 1000}]}, "fairsharePolicy.shareDistribution[0].weightFactor"),
            ({"shareDistribution": [{"shareIdentifier": "UserA*"}, {"shareIdentifier": "UserA1"}]}, "shareIdentifier"),
            ({"shareDistribution": [{"shareIdentifier": f"u{i}"} for i in range(501)]}, "fairsharePolicy.shareDistribution has 501 entries; at most 500"),
        ]
        for policy, member in cases:
            with self.subTest(policy=policy):
                name = unique("fs")
                self.assertClientError(lambda: self.batch.create_scheduling_policy(name=name, fairsharePolicy=policy), member)
                self.assertEqual(self.describe(name), [])

    def test_policy_used_by_a_queue_cannot_be_deleted(self):
        name = unique("fs")
        policy = self.batch.create_scheduling_policy(name=name, fairsharePolicy={})["arn"]
        queue = self.create_queue(schedulingPolicyArn=policy)
        self.assertCLIError(self.aws("delete-scheduling-policy", "--arn", policy), operation="DeleteSchedulingPolicy")
        self.assertEqual(len(self.describe(name)), 1)
        self.assertEqual(self.batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["schedulingPolicyArn"], policy)

    def test_fifo_queue_cannot_get_a_policy_later(self):
        # The model: "A job queue without a fair-share scheduling policy is scheduled as a FIFO
        # job queue and can't have a fair-share scheduling policy added."
        policy = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={})["arn"]
        queue = self.create_queue()
        self.assertClientError(lambda: self.batch.update_job_queue(jobQueue=queue, schedulingPolicyArn=policy), "schedulingPolicyArn")
        self.assertNotIn("schedulingPolicyArn", self.batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0])

    def test_queue_with_an_unknown_policy_is_refused(self):
        name = unique("jq")
        ghost = arn("scheduling-policy", unique("ghost"))
        environment = self.create_ce(state="DISABLED")
        self.assertClientError(lambda: self.batch.create_job_queue(
            jobQueueName=name, priority=1, schedulingPolicyArn=ghost,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}]), "schedulingPolicyArn")
        self.assertEqual(self.batch.describe_job_queues(jobQueues=[name])["jobQueues"], [])

    def test_updating_or_deleting_an_unknown_policy_is_refused(self):
        ghost = arn("scheduling-policy", unique("ghost"))
        self.assertClientError(lambda: self.batch.update_scheduling_policy(arn=ghost, fairsharePolicy={}), ghost)
        self.assertClientError(lambda: self.batch.delete_scheduling_policy(arn=ghost), ghost)


if __name__ == "__main__":
    unittest.main()
