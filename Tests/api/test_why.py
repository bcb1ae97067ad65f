"""Why is my job waiting: `docket why JOB` and GET /docket/v1/jobs/{jobId}/why against real
servers, for each cause the scheduler can name (a dependency, a disabled queue or compute
environment, resources asked vs free, a consumable resource, the policy's order), most
fundamental first, with the numbers. Fair-share standing is in test_fair_share.py."""

import json
import subprocess
import time

from Tests.api.docket_server import ServerTestCase, binary_path, unique

# One process compute environment of 2 vCPUs, so a job asking 2 fills it.
CONFIG = """\
server: { terminate_grace_seconds: 1 }
compute_environments:
  - name: small
    executor: process
    settings: { vcpus: 2, memory_mib: 1024 }
job_queues:
  - { name: wq, priority: 1, compute_environments: [small] }
"""


class WhyTests(ServerTestCase):
    server_config = CONFIG

    def setUp(self):
        self.definition = unique("jd")
        self.batch.register_job_definition(
            jobDefinitionName=self.definition, type="container",
            containerProperties={"image": "busybox", "command": ["sleep", "30"],
                                 "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "64"}]})
        self.started = []

    def tearDown(self):
        # The next test needs the compute environment empty: wait for every job to end.
        for job_id in self.started:
            self.batch.terminate_job(jobId=job_id, reason="test over")
        for job_id in self.started:
            self.wait_for_status(job_id, {"SUCCEEDED", "FAILED"})

    def submit_job(self, queue="wq", **extra):
        job_id = self.batch.submit_job(jobName=unique("job"), jobQueue=queue, jobDefinition=self.definition, **extra)["jobId"]
        self.started.append(job_id)
        return job_id

    def why(self, job_id):
        status, _, body = self.server.http("GET", f"/docket/v1/jobs/{job_id}/why")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_a_job_behind_a_full_compute_environment_says_what_is_short_and_its_place(self):
        running = self.submit_job()
        self.wait_for_status(running, "RUNNING")
        first, second = self.submit_job(), self.submit_job()
        self.wait_for_status(second, "RUNNABLE")
        answer = self.why(second)
        self.assertEqual(answer["status"], "RUNNABLE")
        self.assertTrue(answer["waiting"])
        kinds = [reason["kind"] for reason in answer["reasons"]]
        self.assertEqual(kinds, ["resource", "policy"], answer)
        self.assertIn("compute environment 'small' is short: the job asks for 2 vCPUs, 64 MiB; 0 vCPUs", answer["reasons"][0]["message"])
        self.assertIn("of 2 vCPUs, 1024 MiB are free", answer["reasons"][0]["message"])
        self.assertIn("1 job(s) of job queue 'wq' go before it (policy 'fifo')", answer["reasons"][1]["message"])
        self.assertIn("it is first in the order of job queue 'wq'", self.why(first)["reasons"][1]["message"])

    def test_a_pending_job_names_the_dependency_it_waits_for(self):
        running = self.submit_job()
        child = self.submit_job(dependsOn=[{"jobId": running}])
        self.wait_for_status(child, "PENDING")
        answer = self.why(child)
        self.assertEqual(answer["reasons"][0]["kind"], "dependency")
        self.assertIn(f"it depends on job {running}, which is", answer["reasons"][0]["message"])

    def test_a_disabled_queue_comes_first(self):
        queue = self.create_queue(ces=[self.create_ce(state="DISABLED")])
        job_id = self.submit_job(queue=queue)
        self.wait_for_status(job_id, "RUNNABLE")
        self.batch.update_job_queue(jobQueue=queue, state="DISABLED")
        answer = self.why(job_id)
        self.assertEqual([r["kind"] for r in answer["reasons"]][:2], ["queue", "computeEnvironment"], answer)
        self.assertIn(f"job queue '{queue}' is DISABLED", answer["reasons"][0]["message"])
        self.assertIn("is DISABLED", answer["reasons"][1]["message"])

    def test_a_job_waiting_for_a_consumable_resource_names_it_with_the_numbers(self):
        resource = unique("licence")
        self.batch.create_consumable_resource(consumableResourceName=resource, totalQuantity=1)
        uses = {"consumableResourceList": [{"consumableResource": resource, "quantity": 1}]}
        holder = self.submit_job(consumableResourcePropertiesOverride=uses)
        self.wait_for_status(holder, "RUNNING")
        definition = unique("jd")
        self.batch.register_job_definition(
            jobDefinitionName=definition, type="container",
            containerProperties={"image": "busybox", "command": ["true"],
                                 "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "16"}]},
            consumableResourceProperties=uses)
        waiting = self.batch.submit_job(jobName=unique("job"), jobQueue="wq", jobDefinition=definition)["jobId"]
        self.started.append(waiting)
        self.wait_for_status(waiting, "RUNNABLE")
        reasons = self.why(waiting)["reasons"]
        self.assertIn({"kind": "consumableResource", "message": f"consumable resource '{resource}' is short: the job needs 1; 0 of 1 are free"}, reasons)

    def test_a_running_or_finished_job_does_not_wait_and_an_unknown_one_is_an_error(self):
        job_id = self.submit_job()
        self.wait_for_status(job_id, "RUNNING")
        self.assertFalse(self.why(job_id)["waiting"])
        self.batch.terminate_job(jobId=job_id, reason="done")
        self.wait_for_status(job_id, "FAILED")
        answer = self.why(job_id)
        self.assertEqual((answer["waiting"], answer["status"]), (False, "FAILED"))
        status, _, body = self.server.http("GET", "/docket/v1/jobs/no-such-job/why")
        # AWS answers a job it does not know with a ClientException (400), and so does Docket.
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "ClientException")
        self.assertIn("job 'no-such-job' does not exist", json.loads(body)["message"])

    def test_docket_why_prints_the_ranked_reasons(self):
        running = self.submit_job()
        self.wait_for_status(running, "RUNNING")
        waiting = self.submit_job()
        self.wait_for_status(waiting, "RUNNABLE")
        done = subprocess.run([binary_path(), "why", waiting, "--endpoint", self.server.endpoint], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual(lines[0], f"Job {waiting} is RUNNABLE in job queue wq.")
        self.assertTrue(lines[1].startswith("1. [resource] compute environment 'small' is short"), done.stdout)
        self.assertTrue(lines[2].startswith("2. [policy] it is first in the order of job queue 'wq'"), done.stdout)
