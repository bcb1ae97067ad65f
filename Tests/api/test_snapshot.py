"""GetJobQueueSnapshot through the real aws CLI and boto3: the first 100 RUNNABLE jobs in
dispatch order (FIFO: submission order) and the vCPUs the queue's dispatched jobs hold."""

import time
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique


def vcpus(snapshot):
    usage = snapshot.get("queueUtilization", {}).get("totalCapacityUsage", [])
    return sum(u["quantity"] for u in usage if u["capacityUnit"].lower() == "vcpu")


class JobQueueSnapshotTests(ServerTestCase):
    def snapshot(self, queue):
        return self.batch.get_job_queue_snapshot(jobQueue=queue)

    def test_front_of_queue_lists_runnable_jobs_in_submission_order(self):
        queue = self.held_queue()
        before = int(time.time() * 1000)
        jobs = [self.submit(queue) for _ in range(3)]
        for job in jobs:
            self.wait_for_status(job["jobId"], "RUNNABLE")
        out = self.assertCLIOk(self.aws("get-job-queue-snapshot", "--job-queue", queue))
        front = out["frontOfQueue"]["jobs"]
        self.assertEqual([j["jobArn"] for j in front], [j["jobArn"] for j in jobs])
        now = int(time.time() * 1000)
        for entry in front:
            self.assertTrue(before - 1000 <= entry["earliestTimeAtPosition"] <= now + 1000, "epoch milliseconds")
        self.assertTrue(before - 1000 <= out["frontOfQueue"]["lastUpdatedAt"] <= now + 1000)
        self.assertEqual(vcpus(out), 0, "nothing of this queue is dispatched")

    def test_jobs_leave_the_front_when_cancelled(self):
        queue = self.held_queue()
        first, second = self.submit(queue), self.submit(queue)
        self.wait_for_status(second["jobId"], "RUNNABLE")
        self.batch.cancel_job(jobId=first["jobId"], reason="x")
        self.wait_for_status(first["jobId"], "FAILED")
        self.assertEqual([j["jobArn"] for j in self.snapshot(arn("job-queue", queue))["frontOfQueue"]["jobs"]], [second["jobArn"]])

    def test_only_the_first_100_runnable_jobs_are_listed(self):
        queue = self.held_queue()
        jobs = [self.submit(queue)["jobArn"] for _ in range(105)]
        self.wait_for_status(jobs[-1].rsplit("/", 1)[1], "RUNNABLE")
        front = self.snapshot(queue)["frontOfQueue"]["jobs"]
        self.assertEqual([j["jobArn"] for j in front], jobs[:100])

    def test_running_jobs_count_in_the_queues_vcpu_usage(self):
        job = self.submit("default", containerOverrides={"command": ["sleep", "30"]})
        self.wait_for_status(job["jobId"], "RUNNING")
        try:
            snapshot = self.snapshot("default")
            self.assertEqual(vcpus(snapshot), 1, snapshot.get("queueUtilization"))
            self.assertNotIn(job["jobArn"], [j["jobArn"] for j in snapshot.get("frontOfQueue", {}).get("jobs", [])],
                             "a RUNNING job is not at the front of the queue")
        finally:
            self.batch.terminate_job(jobId=job["jobId"], reason="done")
        self.wait_for_status(job["jobId"], "FAILED", timeout=45)

    def test_unknown_queue_is_refused(self):
        ghost = unique("ghost")
        self.assertCLIError(self.aws("get-job-queue-snapshot", "--job-queue", ghost), ghost, operation="GetJobQueueSnapshot")


if __name__ == "__main__":
    unittest.main()
