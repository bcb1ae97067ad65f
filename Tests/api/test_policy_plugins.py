"""The fair-share and quota scheduling policies end to end: real servers, real process jobs,
queues whose scheduling policy (schedulingPolicyArn) picks the plugin, driven by boto3, the aws
CLI and `docket why`. The long-run numbers (shares within 5% of their targets over a simulated
week, decay, reservation) are the simulator's tests (Tests/DocketSimulatorTests); these check
that the plugins are really the ones ordering a live server's jobs, that a policy changes on a
live server without losing a job, and that quota preemption stops and requeues real jobs."""

import json
import time

from Tests.api.docket_server import ServerTestCase, unique

TERMINAL = {"SUCCEEDED", "FAILED"}


class PolicyTestCase(ServerTestCase):
    # minimum_timeout_seconds and a short grace keep preemption quick.
    server_config = "server: { terminate_grace_seconds: 1 }\n"

    def one_cpu_environment_and_definition(self, vcpus="1", command=("sleep", "1")):
        """A process compute environment of `vcpus` vCPUs, and a 1-vCPU job definition."""
        ce = self.create_ce(tags={"docket:vcpus": vcpus, "docket:memory_mib": "4096"})
        definition = unique("jd")
        self.batch.register_job_definition(
            jobDefinitionName=definition, type="container",
            containerProperties={"image": "busybox", "command": list(command),
                                 "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "32"}]})
        return ce, definition

    def submit_as(self, queue, definition, share, **extra):
        return self.batch.submit_job(jobName=unique(share), jobQueue=queue, jobDefinition=definition,
                                     shareIdentifier=share, **extra)["jobId"]

    def start_order(self, job_ids):
        jobs = []
        for chunk in range(0, len(job_ids), 100):
            jobs += self.batch.describe_jobs(jobs=job_ids[chunk:chunk + 100])["jobs"]
        return [job["jobId"] for job in sorted(jobs, key=lambda job: job["attempts"][-1]["startedAt"])]

    def wait_all(self, job_ids, timeout=90):
        for job_id in job_ids:
            self.wait_for_status(job_id, TERMINAL, timeout=timeout)


class FairShareTests(PolicyTestCase):
    def fair_share_queue(self, ce, distribution, decay=600):
        policy = self.batch.create_scheduling_policy(
            name=unique("fs"), fairsharePolicy={"shareDecaySeconds": decay, "shareDistribution": distribution})["arn"]
        queue = unique("jq")
        self.batch.create_job_queue(jobQueueName=queue, priority=1, schedulingPolicyArn=policy,
                                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
        return queue, policy

    def test_a_share_submitted_later_is_not_stuck_behind_an_earlier_share(self):
        ce, definition = self.one_cpu_environment_and_definition()
        queue, _ = self.fair_share_queue(ce, [{"shareIdentifier": "early", "weightFactor": 1}, {"shareIdentifier": "late", "weightFactor": 1}])
        early = [self.submit_as(queue, definition, "early") for _ in range(5)]
        self.wait_for_status(early[0], {"RUNNING", "SUCCEEDED"})
        late = [self.submit_as(queue, definition, "late") for _ in range(3)]
        self.wait_all(early + late)
        order = self.start_order(early + late)
        # FIFO would run all five early jobs first. Fair share gives the idle share the next slot.
        self.assertIn(order[1], late, f"the second job to start is the late share's, not the fourth early one: {order}")
        self.assertLessEqual(max(order.index(job) for job in late), 6, order)

    def test_the_snapshot_and_why_show_the_shares(self):
        ce, definition = self.one_cpu_environment_and_definition(command=("sleep", "3"))
        queue, _ = self.fair_share_queue(ce, [{"shareIdentifier": "teamA", "weightFactor": 1}, {"shareIdentifier": "teamB", "weightFactor": 0.25}])
        running = self.submit_as(queue, definition, "teamA")
        self.wait_for_status(running, "RUNNING")
        waiting = [self.submit_as(queue, definition, "teamA"), self.submit_as(queue, definition, "teamB")]
        self.wait_for_status(waiting[0], "RUNNABLE")
        snapshot = self.batch.get_job_queue_snapshot(jobQueue=queue)
        fairshare = snapshot["queueUtilization"]["fairshareUtilization"]
        self.assertEqual(fairshare["activeShareCount"], 2)
        top = fairshare["topCapacityUtilization"][0]
        self.assertEqual((top["shareIdentifier"], top["capacityUsage"][0]["quantity"]), ("teamA", 1.0))
        self.assertEqual(snapshot["frontOfQueue"]["jobs"][0]["jobArn"].rsplit("/", 1)[1], waiting[1], "teamB has used nothing: it goes first")
        status, _, body = self.server.http("GET", f"/docket/v1/jobs/{waiting[0]}/why")
        answer = json.loads(body)
        self.assertEqual(status, 200, body)
        self.assertEqual(answer["policy"]["share"], "teamA")
        self.assertEqual(answer["policy"]["position"], 1)
        self.assertIn("policy", [reason["kind"] for reason in answer["reasons"]])
        self.wait_all([running] + waiting)

    def test_a_policy_changed_on_a_live_server_takes_over_every_queued_job(self):
        ce, definition = self.one_cpu_environment_and_definition()
        queue, policy = self.fair_share_queue(ce, [{"shareIdentifier": "a", "weightFactor": 1}, {"shareIdentifier": "b", "weightFactor": 1}])
        jobs = [self.submit_as(queue, definition, share) for share in ["a", "b"] * 4]
        self.wait_for_status(jobs[0], {"RUNNING", "SUCCEEDED"})
        self.batch.update_scheduling_policy(arn=policy, fairsharePolicy={
            "shareDecaySeconds": 600, "shareDistribution": [{"shareIdentifier": "a", "weightFactor": 0.01}, {"shareIdentifier": "b", "weightFactor": 1}]})
        self.wait_all(jobs)
        self.assertEqual({self.describe_job(job)["status"] for job in jobs}, {"SUCCEEDED"}, "no queued job was lost")

    def test_a_fair_share_queue_refuses_a_job_without_a_share_identifier(self):
        ce, definition = self.one_cpu_environment_and_definition()
        queue, _ = self.fair_share_queue(ce, [])
        self.assertClientError(lambda: self.batch.submit_job(jobName="j", jobQueue=queue, jobDefinition=definition),
                               "shareIdentifier is required")


class QuotaTests(PolicyTestCase):
    def quota_queue(self, ce, shares):
        policy = self.batch.create_scheduling_policy(name=unique("qp"), quotaSharePolicy={"idleResourceAssignmentStrategy": "FIFO"})["arn"]
        queue = unique("jq")
        self.batch.create_job_queue(jobQueueName=queue, priority=1, schedulingPolicyArn=policy,
                                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
        for name, vcpus, strategy in shares:
            sharing = {"strategy": strategy}
            if strategy == "LEND_AND_BORROW":
                sharing["borrowLimit"] = 100
            self.batch.create_quota_share(quotaShareName=name, jobQueue=queue,
                                          capacityLimits=[{"capacityUnit": "VCPU", "maxCapacity": vcpus}],
                                          resourceSharingConfiguration=sharing,
                                          preemptionConfiguration={"inSharePreemption": "DISABLED"})
        return queue

    def test_a_lender_takes_back_its_capacity_by_preempting_the_newest_borrowed_job(self):
        ce, definition = self.one_cpu_environment_and_definition(vcpus="2", command=("sleep", "6"))
        queue = self.quota_queue(ce, [("lender", 1, "LEND"), ("borrower", 1, "LEND_AND_BORROW")])
        first = self.submit_as(queue, definition, "borrower")
        self.wait_for_status(first, "RUNNING")
        second = self.submit_as(queue, definition, "borrower")
        self.wait_for_status(second, "RUNNING", timeout=20)  # borrowed: the lender's vCPU is idle
        own = self.submit_as(queue, definition, "lender")
        preempted = self.wait_for_status(second, "RUNNABLE", timeout=20)
        self.assertTrue(preempted["statusReason"].startswith("Preempted: "), preempted["statusReason"])
        self.assertIn("lender", preempted["statusReason"])
        self.assertEqual(self.describe_job(first)["status"], "RUNNING", "the borrower's own-capacity job is left alone")
        self.wait_for_status(own, "RUNNING", timeout=20)
        done = self.wait_for_status(second, TERMINAL, timeout=60)
        # Its retry strategy allows one attempt; the preempted one is not counted.
        self.assertEqual(done["status"], "SUCCEEDED", done.get("statusReason"))
        self.assertEqual(len(done["attempts"]), 2)
        self.assertTrue(done["attempts"][0]["statusReason"].startswith("Preempted: "), done["attempts"][0])
        self.wait_all([first, own])

    def test_borrowing_runs_a_share_past_its_own_limit_only_with_lend_and_borrow(self):
        ce, definition = self.one_cpu_environment_and_definition(vcpus="2", command=("sleep", "6"))
        queue = self.quota_queue(ce, [("idle", 1, "LEND"), ("reserved", 1, "RESERVE")])
        jobs = [self.submit_as(queue, definition, "reserved") for _ in range(2)]
        self.wait_for_status(jobs[0], "RUNNING")
        time.sleep(1.5)
        self.assertEqual(self.describe_job(jobs[1])["status"], "RUNNABLE", "RESERVE never borrows the idle share's vCPU")
        status, _, body = self.server.http("GET", f"/docket/v1/jobs/{jobs[1]}/why")
        self.assertIn("reserved", json.dumps(json.loads(body)["policy"]))
        code, snapshot, err = self.aws("get-job-queue-snapshot", "--job-queue", queue)
        self.assertEqual(code, 0, err)
        front = snapshot["frontOfQuotaShares"]["quotaShares"]
        self.assertEqual(list(front), ["reserved"])
        self.assertEqual(front["reserved"][0]["jobArn"].rsplit("/", 1)[1], jobs[1])
        usage = snapshot["queueUtilization"]["quotaShareUtilization"]["topCapacityUtilization"]
        self.assertEqual(usage[0], {"quotaShareName": "reserved", "capacityUsage": [{"capacityUnit": "VCPU", "quantity": 1.0}]})
        self.wait_all(jobs)

    def test_submission_names_an_enabled_quota_share_of_the_queue(self):
        ce, definition = self.one_cpu_environment_and_definition()
        queue = self.quota_queue(ce, [("teamA", 1, "RESERVE")])
        self.assertClientError(lambda: self.batch.submit_job(jobName="j", jobQueue=queue, jobDefinition=definition),
                               "shareIdentifier is required", "teamA")
        self.assertClientError(lambda: self.submit_as(queue, definition, "nobody"), "names no quota share", "teamA")
        share = self.batch.list_quota_shares(jobQueue=queue)["quotaShares"][0]["quotaShareArn"]
        self.batch.update_quota_share(quotaShareArn=share, state="DISABLED")
        self.assertClientError(lambda: self.submit_as(queue, definition, "teamA"), "is DISABLED")

    def test_a_quota_share_beyond_the_queue_s_capacity_is_refused_naming_the_member(self):
        ce, _ = self.one_cpu_environment_and_definition(vcpus="2")
        queue = self.quota_queue(ce, [])
        for limits, member in [([{"capacityUnit": "VCPU", "maxCapacity": 3}], "capacityLimits[0].maxCapacity is 3 VCPU, more than the 2"),
                               ([{"capacityUnit": "CPU", "maxCapacity": 1}], "capacityLimits[0].capacityUnit is 'CPU'")]:
            name = unique("qs")
            self.assertClientError(lambda: self.batch.create_quota_share(
                quotaShareName=name, jobQueue=queue, capacityLimits=limits,
                resourceSharingConfiguration={"strategy": "RESERVE"}, preemptionConfiguration={"inSharePreemption": "DISABLED"}), member)
            self.assertEqual(self.batch.list_quota_shares(jobQueue=queue)["quotaShares"], [], "nothing stored")


class ConfiguredPolicyTests(PolicyTestCase):
    """A queue's policy can come from the configuration file: `policy` and `policy_settings`."""

    server_config = """\
compute_environments:
  - { name: c1, executor: process, settings: { vcpus: 1, memory_mib: 1024 } }
job_queues:
  - name: fq
    priority: 1
    compute_environments: [c1]
    policy: fairshare
    policy_settings: { shareDecaySeconds: 600, shareDistribution: [{ shareIdentifier: a, weightFactor: 0.5 }] }
"""

    def test_a_configured_fair_share_queue_orders_by_share(self):
        status, _, body = self.server.http("GET", "/docket/v1/jobs/none/why")
        self.assertEqual(status, 400, body)
        definition = unique("jd")
        self.batch.register_job_definition(jobDefinitionName=definition, type="container",
                                           containerProperties={"image": "busybox", "command": ["sleep", "1"],
                                                                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "32"}]})
        first = self.submit_as("fq", definition, "b")
        self.wait_for_status(first, {"RUNNING", "SUCCEEDED"})
        waiting = [self.submit_as("fq", definition, "b"), self.submit_as("fq", definition, "a")]
        self.wait_all([first] + waiting)
        self.assertEqual(self.start_order([first] + waiting)[1], waiting[1], "share a has used nothing: it goes before b's second job")

    def test_settings_the_policy_refuses_stop_the_server_naming_them(self):
        import os
        import subprocess
        import tempfile
        from Tests.api.docket_server import binary_path
        directory = tempfile.mkdtemp(prefix="docket-config-")
        path = os.path.join(directory, "docket.yaml")
        with open(path, "w") as f:
            f.write(self.server_config.replace("weightFactor: 0.5", "weightFactor: 0"))
        done = subprocess.run([binary_path(), "server", "--config", path, "--data-dir", os.path.join(directory, "data"),
                               "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0, "the server must not start")
        self.assertIn("refused job queue 'fq'", done.stderr)
        self.assertIn("shareDistribution[0].weightFactor: 0 is outside 0.0001–999.9999", done.stderr)
