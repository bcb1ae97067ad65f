"""Quota shares through the real aws CLI and boto3: Create, Describe, List, Update, Delete, and
the refusals AWS documents. Docket stores and returns them as AWS does.

The ARN form: AWS's model does not spell it out; Docket uses
arn:aws:batch:REGION:ACCOUNT:job-queue/QUEUE/quota-share/NAME (the form AWS's IAM reference
gives the quota-share resource type, as far as we know)."""

import json
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

LIMITS = [{"capacityUnit": "VCPU", "maxCapacity": 8}]
SHARING = {"strategy": "LEND_AND_BORROW", "borrowLimit": 100}
PREEMPTION = {"inSharePreemption": "DISABLED"}


def share_arn(queue, name):
    return arn("job-queue", f"{queue}/quota-share/{name}")


class QuotaShareTests(ServerTestCase):
    def create(self, queue, name=None, **extra):
        name = name or unique("share")
        kwargs = dict(quotaShareName=name, jobQueue=queue, capacityLimits=LIMITS,
                      resourceSharingConfiguration=SHARING, preemptionConfiguration=PREEMPTION)
        kwargs.update(extra)
        return self.batch.create_quota_share(**kwargs)

    def listed(self, queue):
        return [s["quotaShareName"] for s in self.batch.list_quota_shares(jobQueue=queue)["quotaShares"]]

    def test_full_lifecycle_through_the_cli(self):
        queue = self.create_queue()
        name = unique("share")
        created = self.assertCLIOk(self.aws(
            "create-quota-share", "--quota-share-name", name, "--job-queue", queue,
            "--capacity-limits", json.dumps(LIMITS), "--resource-sharing-configuration", json.dumps(SHARING),
            "--preemption-configuration", json.dumps(PREEMPTION), "--tags", "team=lab"))
        self.assertEqual(created, {"quotaShareName": name, "quotaShareArn": share_arn(queue, name)})

        described = self.assertCLIOk(self.aws("describe-quota-share", "--quota-share-arn", share_arn(queue, name)))
        self.assertEqual(described["quotaShareName"], name)
        self.assertEqual(described["jobQueueArn"], arn("job-queue", queue))
        self.assertEqual(described["capacityLimits"], LIMITS)
        self.assertEqual(described["resourceSharingConfiguration"], SHARING)
        self.assertEqual(described["preemptionConfiguration"], PREEMPTION)
        self.assertEqual(described["state"], "ENABLED", "AWS: the default state is ENABLED")
        self.assertEqual(described["status"], "VALID")
        self.assertEqual(described["tags"], {"team": "lab"})

        listed = self.assertCLIOk(self.aws("list-quota-shares", "--job-queue", queue))
        self.assertEqual([s["quotaShareArn"] for s in listed["quotaShares"]], [share_arn(queue, name)])

        updated = self.assertCLIOk(self.aws(
            "update-quota-share", "--quota-share-arn", share_arn(queue, name), "--state", "DISABLED",
            "--capacity-limits", json.dumps([{"capacityUnit": "VCPU", "maxCapacity": 4}])))
        self.assertEqual(updated, {"quotaShareName": name, "quotaShareArn": share_arn(queue, name)})
        described = self.batch.describe_quota_share(quotaShareArn=share_arn(queue, name))
        self.assertEqual(described["state"], "DISABLED")
        self.assertEqual(described["capacityLimits"], [{"capacityUnit": "VCPU", "maxCapacity": 4}])
        self.assertEqual(described["resourceSharingConfiguration"], SHARING, "members not sent are kept")

        self.assertCLIOk(self.aws("delete-quota-share", "--quota-share-arn", share_arn(queue, name)))
        self.assertEqual(self.listed(queue), [])
        self.assertClientError(lambda: self.batch.describe_quota_share(quotaShareArn=share_arn(queue, name)), name)

    def test_queue_is_named_by_name_or_arn_and_shares_are_per_queue(self):
        first, second = self.create_queue(), self.create_queue()
        name = unique("share")
        self.create(first, name)
        self.create(arn("job-queue", second), name)  # the same name on another queue is another share
        self.assertEqual(self.listed(first), [name])
        self.assertEqual(self.listed(arn("job-queue", second)), [name])

    def test_list_paginates_with_max_results_and_next_token(self):
        queue = self.create_queue()
        names = sorted(self.create(queue)["quotaShareName"] for _ in range(3))
        seen, token = [], None
        for _ in range(10):
            page = self.batch.list_quota_shares(jobQueue=queue, maxResults=2, **({"nextToken": token} if token else {}))
            self.assertLessEqual(len(page["quotaShares"]), 2)
            seen += [s["quotaShareName"] for s in page["quotaShares"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertIsNone(token)
        self.assertEqual(sorted(seen), names)
        paginated = [s["quotaShareName"] for p in self.batch.get_paginator("list_quota_shares").paginate(
            jobQueue=queue, PaginationConfig={"PageSize": 1}) for s in p["quotaShares"]]
        self.assertEqual(sorted(paginated), names)

    def test_enabled_share_cannot_be_deleted(self):
        # AWS: "You must first disable submissions for the share by updating the state to DISABLED".
        queue = self.create_queue()
        name = self.create(queue)["quotaShareName"]
        self.assertClientError(lambda: self.batch.delete_quota_share(quotaShareArn=share_arn(queue, name)), "DISABLED")
        self.assertEqual(self.listed(queue), [name])

    def test_duplicate_name_on_a_queue_is_refused(self):
        queue = self.create_queue()
        name = self.create(queue)["quotaShareName"]
        self.assertClientError(lambda: self.create(queue, name, capacityLimits=[{"capacityUnit": "VCPU", "maxCapacity": 99}]),
                               "Object already exists")
        self.assertEqual(self.batch.describe_quota_share(quotaShareArn=share_arn(queue, name))["capacityLimits"], LIMITS)

    def test_name_with_forbidden_characters_is_refused(self):
        queue = self.create_queue()
        self.assertCLIError(self.aws(
            "create-quota-share", "--quota-share-name", "share/1", "--job-queue", queue,
            "--capacity-limits", json.dumps(LIMITS), "--resource-sharing-configuration", json.dumps(SHARING),
            "--preemption-configuration", json.dumps(PREEMPTION)), "quotaShareName", operation="CreateQuotaShare")
        self.assertEqual(self.listed(queue), [])

    def test_unknown_queue_is_refused(self):
        ghost = unique("ghost")
        self.assertClientError(lambda: self.create(ghost), ghost)
        self.assertClientError(lambda: self.batch.list_quota_shares(jobQueue=ghost), ghost)

    def test_invalid_limits_and_strategies_are_refused(self):
        queue = self.create_queue()
        cases = [
            ({"capacityLimits": [{"capacityUnit": f"u{i}", "maxCapacity": 1} for i in range(6)]}, "capacityLimits"),
            ({"resourceSharingConfiguration": {"strategy": "SHARE_EVERYTHING"}}, "resourceSharingConfiguration.strategy"),
            ({"preemptionConfiguration": {"inSharePreemption": "SOMETIMES"}}, "preemptionConfiguration.inSharePreemption"),
            ({"state": "PAUSED"}, "state"),
            # borrowLimit only means something with LEND_AND_BORROW.
            ({"resourceSharingConfiguration": {"strategy": "RESERVE", "borrowLimit": 50}}, "borrowLimit"),
        ]
        for change, member in cases:
            with self.subTest(change=change):
                self.assertClientError(lambda: self.create(queue, **change), member)
        self.assertEqual(self.listed(queue), [])

    def test_update_of_an_unknown_share_is_refused(self):
        queue = self.create_queue()
        ghost = share_arn(queue, unique("ghost"))
        self.assertClientError(lambda: self.batch.update_quota_share(quotaShareArn=ghost, state="DISABLED"), "quotaShareArn")
        self.assertClientError(lambda: self.batch.delete_quota_share(quotaShareArn=ghost), "quotaShareArn")


if __name__ == "__main__":
    unittest.main()
