"""AWS Batch's job semantics, rule by rule, through boto3 and the real aws CLI against a real
`docket server` that runs real processes (README "Job semantics, rule for rule";
../shared/reference/aws-batch-semantics.md §3.2-3.4, §4.4-4.7, §5.3, §5.6, §5.8-5.10).

Every test looks at what happened: statuses, statusReason texts, attempt records and their
times, and what the commands printed (read back through GET /docket/v1/jobs/ID/logs) or left
on disk. Each test builds its own compute environments and queues (process executor, capacity
set with the docket:vcpus tag), so tests never wait on each other's jobs.

jobStateTimeLimitActions' maxTimeSeconds is 600 to 86,400 on AWS; the server setting
minimum_time_limit_seconds lowers the minimum so TimeLimitActionTests can wait seconds, not
minutes. Storage and range checks of the actions are in test_job_queues.py.
"""

import json
import os
import shutil
import tempfile
import time
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

# Short timeouts and a short SIGTERM -> SIGKILL grace keep terminate tests quick.
CONFIG = """\
server:
  minimum_timeout_seconds: 1
  minimum_time_limit_seconds: 1
  terminate_grace_seconds: 1
"""

TERMINAL = {"SUCCEEDED", "FAILED"}
ESSENTIAL_EXIT = "Essential container in task exited"


def now_ms():
    return int(time.time() * 1000)


def sh(script):
    return ["sh", "-c", script]


class SemanticsTestCase(ServerTestCase):
    server_config = CONFIG

    @classmethod
    def shared_queue(cls, vcpus):
        """A compute environment with `vcpus` vCPUs and a queue on it, for a whole class."""
        ce, queue = unique("ce"), unique("jq")
        cls.batch.create_compute_environment(computeEnvironmentName=ce, type="UNMANAGED",
                                             tags={"docket:executor": "process", "docket:vcpus": str(vcpus), "docket:memory_mib": "4096"})
        cls.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
        return ce, queue

    # ---- builders ---------------------------------------------------------------------------

    def room(self, vcpus=4, state="ENABLED", memory_mib=4096):
        """An UNMANAGED compute environment on the process executor with `vcpus` vCPUs."""
        return self.create_ce(state=state, tags={"docket:vcpus": str(vcpus), "docket:memory_mib": str(memory_mib)})

    def queue_on(self, *environments, priority=1):
        return self.create_queue(ces=list(environments), priority=priority)

    def run_script(self, queue, script, **extra):
        """Submits `sh -c SCRIPT` (on the default definition: 1 vCPU, 512 MiB) and returns its id."""
        overrides = dict(extra.pop("containerOverrides", {}))
        overrides["command"] = sh(script)
        return self.submit(queue, containerOverrides=overrides, **extra)["jobId"]

    def finish(self, job_id, timeout=20):
        return self.wait_for_status(job_id, TERMINAL, timeout=timeout)

    def marker_dir(self):
        """A directory every job may write to (a root server runs jobs as an unprivileged user)."""
        path = tempfile.mkdtemp(prefix="docket-semantics-")
        os.chmod(path, 0o777)
        self.addCleanup(shutil.rmtree, path, True)
        return path

    # ---- observations -----------------------------------------------------------------------

    def log(self, job_id, attempt=None):
        """What the attempt printed (stdout and stderr), without Docket's own `[docket]` notes."""
        path = f"/docket/v1/jobs/{job_id}/logs" + (f"?attempt={attempt}" if attempt else "")
        status, _, body = self.server.http("GET", path)
        self.assertEqual(status, 200, body)
        data = json.loads(body)["data"]
        return [line for line in data.splitlines() if not line.startswith("[docket]")]

    def exit_codes(self, job):
        return [attempt["container"].get("exitCode") for attempt in job["attempts"]]

    def assertStaysIn(self, job_id, status, seconds):
        """The job is in `status` for the whole of `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            job = self.describe_job(job_id)
            self.assertEqual(job["status"], status, job.get("statusReason"))
            time.sleep(0.1)
        return job


# ==== 1. Retries ===================================================================================

class RetryTests(SemanticsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ce = unique("ce")
        cls.batch.create_compute_environment(computeEnvironmentName=ce, type="UNMANAGED",
                                             tags={"docket:executor": "process", "docket:vcpus": "4", "docket:memory_mib": "4096"})
        cls.queue = unique("jq")
        cls.batch.create_job_queue(jobQueueName=cls.queue, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])

    def test_a_command_failing_every_time_runs_exactly_the_attempts_given_each_recorded(self):
        job_id = self.run_script(self.queue, 'echo "attempt=$AWS_BATCH_JOB_ATTEMPT"; exit 3', retryStrategy={"attempts": 3})
        job = self.finish(job_id)
        self.assertEqual(job["status"], "FAILED")
        self.assertEqual(job["statusReason"], ESSENTIAL_EXIT)
        self.assertEqual(len(job["attempts"]), 3, "attempts counts every run, the first included")
        self.assertEqual(self.exit_codes(job), [3, 3, 3])
        streams = [attempt["container"]["logStreamName"] for attempt in job["attempts"]]
        self.assertEqual(len(set(streams)), 3, f"each attempt has its own log stream: {streams}")
        previous_stop = job["createdAt"]
        for number, attempt in enumerate(job["attempts"], start=1):
            with self.subTest(attempt=number):
                self.assertTrue(attempt["container"]["logStreamName"].startswith("default/default/"), attempt)
                self.assertEqual(attempt["statusReason"], ESSENTIAL_EXIT)
                # AWS_BATCH_JOB_ATTEMPT is 1, 2, 3 in successive attempts, each in its own log.
                self.assertEqual(self.log(job_id, attempt=number), [f"attempt={number}"])
                self.assertLessEqual(previous_stop, attempt["startedAt"], "attempts run one after another")
                previous_stop = attempt["stoppedAt"]
                # startedAt is STARTING -> RUNNING, stoppedAt RUNNING -> done: never the other way round,
                # even for a command that exits at once.
                self.assertLessEqual(attempt["startedAt"], attempt["stoppedAt"], f"startedAt after stoppedAt: {attempt}")
        self.assertGreaterEqual(job["stoppedAt"], job["attempts"][-1]["stoppedAt"])
        self.assertEqual(job["container"]["logStreamName"], streams[-1], "the job shows its last attempt")
        self.assertEqual(job["container"]["exitCode"], 3)

    def test_a_command_that_fails_once_then_succeeds_ends_succeeded_after_two_attempts(self):
        script = 'echo "attempt=$AWS_BATCH_JOB_ATTEMPT"; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 2 ] || exit 7'
        submitted = self.assertCLIOk(self.aws("submit-job", "--job-name", unique("retry"), "--job-queue", self.queue,
                                              "--job-definition", "default", "--retry-strategy", "attempts=3",
                                              "--container-overrides", json.dumps({"command": sh(script)})))
        job = self.finish(submitted["jobId"])
        self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        self.assertEqual(self.exit_codes(job), [7, 0], "no third attempt after a success")
        self.assertEqual(self.log(job["jobId"], attempt=1), ["attempt=1"])
        self.assertEqual(self.log(job["jobId"], attempt=2), ["attempt=2"])
        self.assertEqual(self.log(job["jobId"]), ["attempt=2"], "without ?attempt the log is the last attempt's")

    def test_evaluate_on_exit_first_matching_rule_decides(self):
        # Both rules match exit code 12; only their order differs.
        exit_first = self.run_script(self.queue, "exit 12", retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"action": "EXIT", "onExitCode": "12"}, {"action": "RETRY", "onExitCode": "1*"}]})
        retry_first = self.run_script(self.queue, "exit 12", retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"action": "RETRY", "onExitCode": "1*"}, {"action": "EXIT", "onExitCode": "12"}]})
        job = self.finish(exit_first)
        self.assertEqual((job["status"], self.exit_codes(job)), ("FAILED", [12]), "EXIT matched first: no retry")
        job = self.finish(retry_first)
        self.assertEqual((job["status"], self.exit_codes(job)), ("FAILED", [12, 12, 12]),
                         "RETRY matched first ('1*' matches 12): retried until the attempts ran out")

    def test_on_exit_code_glob_matches_a_prefix_only(self):
        # "1*" matches 1, 12, 104 but not 21; "21" matches 21 only, not 210.
        rules = [{"action": "RETRY", "onExitCode": "1*"}, {"action": "RETRY", "onExitCode": "21"},
                 {"action": "EXIT", "onExitCode": "*"}]
        cases = {1: 2, 104: 2, 21: 2, 210: 1, 31: 1}
        jobs = {code: self.run_script(self.queue, f"exit {code}", retryStrategy={"attempts": 2, "evaluateOnExit": rules})
                for code in cases}
        for code, attempts in cases.items():
            with self.subTest(exitCode=code):
                job = self.finish(jobs[code])
                self.assertEqual(job["status"], "FAILED")
                self.assertEqual(self.exit_codes(job), [code] * attempts)

    def test_with_rules_but_none_matching_the_job_is_retried(self):
        # AWS: "If evaluateOnExit is specified but none of the entries match, then the job is retried."
        job_id = self.run_script(self.queue, "exit 5", retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"action": "EXIT", "onExitCode": "99"}, {"action": "RETRY", "onExitCode": "6"}]})
        job = self.finish(job_id)
        self.assertEqual(self.exit_codes(job), [5, 5, 5])

    def test_evaluate_on_exit_action_is_case_insensitive(self):
        # Attempt 1 exits 4 (lower-case "retry" matches), attempt 2 exits 5 (lower-case "exit" matches).
        job_id = self.run_script(self.queue, '[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && exit 4; exit 5',
                                 retryStrategy={"attempts": 5, "evaluateOnExit": [
                                     {"action": "exit", "onExitCode": "5"}, {"action": "retry", "onExitCode": "4"}]})
        job = self.finish(job_id)
        self.assertEqual((job["status"], self.exit_codes(job)), ("FAILED", [4, 5]))
        self.assertEqual([rule["action"].upper() for rule in job["retryStrategy"]["evaluateOnExit"]], ["EXIT", "RETRY"])

    def test_on_status_reason_matches_the_essential_container_exit(self):
        retried = self.run_script(self.queue, "exit 2", retryStrategy={"attempts": 2, "evaluateOnExit": [
            {"action": "RETRY", "onStatusReason": ESSENTIAL_EXIT}, {"action": "EXIT", "onExitCode": "*"}]})
        stopped = self.run_script(self.queue, "exit 2", retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"action": "EXIT", "onStatusReason": "Essential container*"}, {"action": "RETRY", "onExitCode": "*"}]})
        other_reason = self.run_script(self.queue, "exit 2", retryStrategy={"attempts": 2, "evaluateOnExit": [
            {"action": "RETRY", "onStatusReason": "Host EC2*"}, {"action": "EXIT", "onExitCode": "*"}]})
        self.assertEqual(self.exit_codes(self.finish(retried)), [2, 2])
        self.assertEqual(self.exit_codes(self.finish(stopped)), [2])
        self.assertEqual(self.exit_codes(self.finish(other_reason)), [2], "a statusReason glob that does not match is skipped")

    def test_all_conditions_of_a_rule_must_match(self):
        # onExitCode matches but onStatusReason does not: the rule does not apply, the catch-all does.
        job_id = self.run_script(self.queue, "exit 9", retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"action": "RETRY", "onExitCode": "9", "onStatusReason": "Task failed to start"},
            {"action": "EXIT", "onExitCode": "*"}]})
        self.assertEqual(self.exit_codes(self.finish(job_id)), [9])

    def test_a_retried_job_goes_to_the_front_of_its_queue(self):
        # Reference §4.6: "Retried jobs are placed at the front of the job queue". One slot: the
        # retry of `first` runs before `second`, which was RUNNABLE all along.
        environment = self.room(vcpus=1)
        queue = self.queue_on(environment)
        first = self.run_script(queue, 'sleep 0.5; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 2 ] || exit 1', retryStrategy={"attempts": 2})
        self.wait_for_status(first, "RUNNING")
        second = self.run_script(queue, "echo second")
        self.wait_for_status(second, "RUNNABLE")
        done_first, done_second = self.finish(first), self.finish(second)
        self.assertEqual(done_first["status"], "SUCCEEDED")
        self.assertEqual(self.exit_codes(done_first), [1, 0])
        self.assertEqual(done_second["status"], "SUCCEEDED")
        self.assertLessEqual(done_first["attempts"][1]["stoppedAt"], done_second["attempts"][0]["startedAt"],
                             "the retry ran before the job that waited behind it")

    def test_submit_retry_strategy_overrides_the_definitions(self):
        name = unique("jd")
        self.register(name, command=sh("exit 1"), retryStrategy={"attempts": 3})
        from_definition = self.submit(self.queue, definition=name, containerOverrides={})["jobId"]
        overridden = self.submit(self.queue, definition=name, containerOverrides={}, retryStrategy={"attempts": 1})["jobId"]
        exit_rule = self.submit(self.queue, definition=name, containerOverrides={},
                                retryStrategy={"attempts": 3, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "1"}]})["jobId"]
        self.assertEqual(self.exit_codes(self.finish(from_definition)), [1, 1, 1])
        job = self.finish(overridden)
        self.assertEqual(self.exit_codes(job), [1])
        self.assertEqual(job["retryStrategy"]["attempts"], 1)
        self.assertEqual(self.exit_codes(self.finish(exit_rule)), [1])


# ==== 2 and 3. Parameters and container overrides =============================================

class ParameterAndOverrideTests(SemanticsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ce, cls.queue = cls.shared_queue(vcpus=2)

    def register_container(self, command, environment=None, parameters=None, vcpus="1", memory="64"):
        name = unique("jd")
        props = {"image": "busybox", "command": command,
                 "resourceRequirements": [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}]}
        if environment is not None:
            props["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
        extra = {"parameters": parameters} if parameters is not None else {}
        self.batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props, **extra)
        return name

    # ---- 2. Parameters ------------------------------------------------------------------------

    def test_ref_placeholders_take_the_definitions_defaults_and_submit_parameters_win(self):
        definition = self.register_container(["echo", "Ref::greeting", "Ref::name"],
                                             parameters={"greeting": "hello", "name": "world"})
        defaults = self.submit(self.queue, definition=definition, containerOverrides={})["jobId"]
        overridden = self.submit(self.queue, definition=definition, containerOverrides={}, parameters={"name": "docket"})["jobId"]
        self.assertEqual(self.finish(defaults)["status"], "SUCCEEDED")
        self.assertEqual(self.log(defaults), ["hello world"])
        job = self.finish(overridden)
        self.assertEqual(job["status"], "SUCCEEDED")
        self.assertEqual(self.log(overridden), ["hello docket"])
        self.assertEqual(job["parameters"], {"greeting": "hello", "name": "docket"})
        self.assertEqual(job["container"]["command"], ["echo", "hello", "docket"])

    def test_ref_placeholders_in_a_command_override_are_substituted_too(self):
        definition = self.register_container(["true"], parameters={"word": "default-word"})
        job_id = self.submit(self.queue, definition=definition, parameters={"other": "given"},
                             containerOverrides={"command": ["echo", "Ref::word", "Ref::other"]})["jobId"]
        self.assertEqual(self.finish(job_id)["status"], "SUCCEEDED")
        self.assertEqual(self.log(job_id), ["default-word given"])

    def test_an_unknown_ref_is_left_as_written(self):
        # The guide is silent; Docket (JobSubmission.substitute) leaves an element naming no
        # parameter as written, as AWS does.
        definition = self.register_container(["echo", "Ref::nosuch", "Ref::known"], parameters={"known": "yes"})
        job_id = self.submit(self.queue, definition=definition, containerOverrides={})["jobId"]
        self.assertEqual(self.finish(job_id)["status"], "SUCCEEDED")
        self.assertEqual(self.log(job_id), ["Ref::nosuch yes"])

    # ---- 3. containerOverrides ----------------------------------------------------------------

    def test_the_definitions_environment_reaches_the_process_with_the_batch_variables(self):
        definition = self.register_container(
            sh('echo "KEEP=$KEEP CHANGE=$CHANGE"; echo "jq=$AWS_BATCH_JQ_NAME ce=$AWS_BATCH_CE_NAME id=$AWS_BATCH_JOB_ID attempt=$AWS_BATCH_JOB_ATTEMPT"'),
            environment={"KEEP": "from-definition", "CHANGE": "from-definition"})
        job_id = self.submit(self.queue, definition=definition, containerOverrides={})["jobId"]
        self.assertEqual(self.finish(job_id)["status"], "SUCCEEDED")
        self.assertEqual(self.log(job_id), ["KEEP=from-definition CHANGE=from-definition",
                                            f"jq={self.queue} ce={self.ce} id={job_id} attempt=1"])

    def test_container_overrides_replace_the_command_and_override_and_add_environment(self):
        definition = self.register_container(sh("echo from-definition"),
                                             environment={"KEEP": "from-definition", "CHANGE": "from-definition"})
        job_id = self.submit(self.queue, definition=definition, containerOverrides={
            "command": sh('echo "override KEEP=$KEEP CHANGE=$CHANGE ADDED=$ADDED"'),
            "environment": [{"name": "CHANGE", "value": "from-override"}, {"name": "ADDED", "value": "new"}]})["jobId"]
        job = self.finish(job_id)
        self.assertEqual(job["status"], "SUCCEEDED")
        self.assertEqual(self.log(job_id), ["override KEEP=from-definition CHANGE=from-override ADDED=new"],
                         "only the override's command ran")
        environment = {entry["name"]: entry["value"] for entry in job["container"]["environment"]}
        self.assertEqual(environment, {"KEEP": "from-definition", "CHANGE": "from-override", "ADDED": "new"})

    def test_resource_requirement_overrides_are_what_the_job_asks_for(self):
        definition = self.register_container(sh("echo ran"), vcpus="1", memory="64")
        fits = self.submit(self.queue, definition=definition, containerOverrides={
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "128"}]})["jobId"]
        too_many_vcpus = self.submit(self.queue, definition=definition, containerOverrides={
            "resourceRequirements": [{"type": "VCPU", "value": "3"}]})["jobId"]
        too_much_memory = self.submit(self.queue, definition=definition, containerOverrides={
            "resourceRequirements": [{"type": "MEMORY", "value": "999999"}]})["jobId"]
        job = self.finish(fits)
        self.assertEqual(job["status"], "SUCCEEDED")
        requirements = {r["type"]: r["value"] for r in job["container"]["resourceRequirements"]}
        self.assertEqual(requirements, {"VCPU": "2", "MEMORY": "128"})
        # The CE offers 2 vCPUs and 4096 MiB: the overridden jobs can never start, and say why.
        prefix = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job asks for"
        suffix = f"the largest compute environment of job queue '{self.queue}' offers"
        job = self.wait_for_status(too_many_vcpus, "RUNNABLE")
        self.assertEqual(job["statusReason"], f"{prefix} 3 vCPUs; {suffix} 2 vCPUs.")
        job = self.wait_for_status(too_much_memory, "RUNNABLE")
        self.assertEqual(job["statusReason"], f"{prefix} 999999 MiB of memory; {suffix} 4096 MiB.")
        self.assertEqual({r["type"]: r["value"] for r in job["container"]["resourceRequirements"]},
                         {"VCPU": "1", "MEMORY": "999999"}, "an override of one type keeps the definition's other")
        for job_id in (too_many_vcpus, too_much_memory):
            self.batch.cancel_job(jobId=job_id, reason="cleanup")


# ==== 4. Queues and compute environments =========================================================

class QueueTests(SemanticsTestCase):
    def test_a_higher_priority_queue_runs_first_on_a_shared_environment(self):
        # One slot, both queues' jobs RUNNABLE before the slot opens: the priority-10 queue's job
        # goes first although it was submitted last.
        environment = self.room(vcpus=1, state="DISABLED")
        low = self.queue_on(environment, priority=1)
        high = self.queue_on(environment, priority=10)
        low_jobs = [self.run_script(low, "sleep 0.3; echo low") for _ in range(2)]
        high_job = self.run_script(high, "sleep 0.3; echo high")
        for job_id in low_jobs + [high_job]:
            self.wait_for_status(job_id, "RUNNABLE")
        self.batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")
        jobs = {job_id: self.finish(job_id) for job_id in low_jobs + [high_job]}
        for job in jobs.values():
            self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        first = jobs[high_job]["attempts"][0]
        for job_id in low_jobs:
            self.assertLessEqual(first["stoppedAt"], jobs[job_id]["attempts"][0]["startedAt"],
                                 "the high-priority job ran (alone) before any low-priority job")
        self.assertLessEqual(jobs[low_jobs[0]]["attempts"][0]["stoppedAt"], jobs[low_jobs[1]]["attempts"][0]["startedAt"],
                             "within a queue, FIFO")

    def test_a_disabled_queue_refuses_new_jobs_but_runs_the_jobs_it_holds(self):
        environment = self.room(vcpus=1, state="DISABLED")
        queue = self.queue_on(environment)
        held = self.run_script(queue, "echo held-job-ran")
        self.wait_for_status(held, "RUNNABLE")
        self.assertCLIOk(self.aws("update-job-queue", "--job-queue", queue, "--state", "DISABLED"))
        self.assertCLIError(self.aws("submit-job", "--job-name", unique("late"), "--job-queue", queue,
                                     "--job-definition", "default"), queue, "DISABLED", operation="SubmitJob")
        self.batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")
        job = self.finish(held)
        self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        self.assertEqual(self.log(held), ["held-job-ran"])
        [summary] = self.batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])["jobSummaryList"]
        self.assertEqual(summary["jobId"], held, "the refused submission left no job behind")

    def test_a_disabled_environment_starts_nothing_new_and_re_enabling_starts_the_waiting_job(self):
        environment = self.room(vcpus=1)
        queue = self.queue_on(environment)
        running = self.run_script(queue, "sleep 1; echo first")
        self.wait_for_status(running, "RUNNING")
        self.batch.update_compute_environment(computeEnvironment=environment, state="DISABLED")
        waiting = self.run_script(queue, "echo second")
        job = self.finish(running)
        self.assertEqual(job["status"], "SUCCEEDED", "disabling lets the running attempt finish")
        self.assertEqual(self.log(running), ["first"])
        job = self.assertStaysIn(waiting, "RUNNABLE", 1.0)
        self.assertEqual(job["attempts"], [])
        enabled_at = now_ms()
        self.batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")
        job = self.finish(waiting)
        self.assertEqual(job["status"], "SUCCEEDED")
        self.assertGreaterEqual(job["attempts"][0]["startedAt"], enabled_at - 50)
        self.assertEqual(self.log(waiting), ["second"])

    def test_jobs_go_to_the_first_environment_in_order_while_it_has_room(self):
        first = self.room(vcpus=1)
        second = self.room(vcpus=1)
        # Listed out of order on purpose: `order`, not the list position, decides.
        queue = unique("jq")
        self.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[
            {"order": 2, "computeEnvironment": second}, {"order": 1, "computeEnvironment": arn("compute-environment", first)}])
        script = 'echo "ce=$AWS_BATCH_CE_NAME"; sleep {}'
        a = self.run_script(queue, script.format(2))
        self.wait_for_status(a, "RUNNING")
        b = self.run_script(queue, script.format(0))
        self.assertEqual(self.finish(b)["status"], "SUCCEEDED")
        self.assertEqual(self.describe_job(a)["status"], "RUNNING", "b ran beside a, not after it")
        self.assertEqual(self.finish(a)["status"], "SUCCEEDED")
        c = self.run_script(queue, script.format(0))
        self.assertEqual(self.finish(c)["status"], "SUCCEEDED")
        self.assertEqual([self.log(a), self.log(b), self.log(c)], [[f"ce={first}"], [f"ce={second}"], [f"ce={first}"]])


# ==== 5. Dependencies ===========================================================================

class DependencyTests(SemanticsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ce, cls.queue = cls.shared_queue(vcpus=4)

    def test_twenty_dependencies_are_accepted_and_twenty_one_are_refused(self):
        held = self.held_queue()
        targets = [self.submit(held)["jobId"] for _ in range(21)]
        twenty = self.submit(held, dependsOn=[{"jobId": target} for target in targets[:20]])["jobId"]
        self.assertEqual(len(self.wait_for_status(twenty, "PENDING")["dependsOn"]), 20)
        name = unique("too-many")
        self.assertCLIError(self.aws("submit-job", "--job-name", name, "--job-queue", held, "--job-definition", "default",
                                     "--depends-on", json.dumps([{"jobId": target} for target in targets])),
                            "dependsOn", operation="SubmitJob")
        listed = self.batch.list_jobs(jobQueue=held, filters=[{"name": "JOB_NAME", "values": [name]}])["jobSummaryList"]
        self.assertEqual(listed, [], "nothing was stored for the refused job")
        for target in targets:
            self.batch.cancel_job(jobId=target, reason="cleanup")

    def test_a_dependency_on_an_unknown_job_is_refused(self):
        ghost = "00000000-0000-0000-0000-00000000dead"
        self.assertClientError(lambda: self.submit(self.queue, dependsOn=[{"jobId": ghost}]), "dependsOn", ghost)
        self.assertClientError(lambda: self.submit(self.queue, dependsOn=[{"jobId": arn("job", ghost)}]), "dependsOn", ghost)

    def test_a_dependency_on_one_array_child_waits_for_that_child_only(self):
        script = '[ "$AWS_BATCH_JOB_ARRAY_INDEX" = 1 ] && exec sleep 30; sleep 1; echo "child=$AWS_BATCH_JOB_ARRAY_INDEX"'
        parent = self.submit(self.queue, arrayProperties={"size": 2}, containerOverrides={"command": sh(script)})["jobId"]
        dependent = self.run_script(self.queue, "echo dependent-ran", dependsOn=[{"jobId": f"{parent}:0"}])
        self.assertEqual(self.wait_for_status(dependent, "PENDING")["dependsOn"], [{"jobId": f"{parent}:0"}])
        job = self.finish(dependent)
        self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        self.assertEqual(self.log(dependent), ["dependent-ran"])
        child0 = self.describe_job(f"{parent}:0")
        self.assertEqual(child0["status"], "SUCCEEDED")
        self.assertGreaterEqual(job["attempts"][0]["startedAt"], child0["attempts"][0]["stoppedAt"])
        self.assertEqual(self.describe_job(f"{parent}:1")["status"], "RUNNING", "child 1 was not waited for")
        self.assertEqual(self.describe_job(parent)["status"], "PENDING")
        self.batch.terminate_job(jobId=parent, reason="cleanup")
        self.finish(parent)

    def test_dependents_of_a_cancelled_job_fail_transitively_without_running(self):
        marks = self.marker_dir()
        held = self.held_queue()
        a = self.submit(held)["jobId"]
        b = self.run_script(self.queue, f"touch {marks}/b", dependsOn=[{"jobId": a}])
        c = self.run_script(self.queue, f"touch {marks}/c", dependsOn=[{"jobId": b}])
        self.wait_for_status(b, "PENDING")
        self.wait_for_status(c, "PENDING")
        self.assertCLIOk(self.aws("cancel-job", "--job-id", a, "--reason", "not needed"))
        self.assertEqual(self.finish(a)["statusReason"], "not needed")
        for job_id, dependency in ((b, a), (c, b)):
            with self.subTest(job=job_id):
                job = self.finish(job_id)
                self.assertEqual(job["status"], "FAILED")
                self.assertEqual(job["statusReason"], f"Dependent Job {dependency} failed")
                self.assertEqual(job["attempts"], [])
                self.assertNotIn("startedAt", job)
        time.sleep(0.3)
        self.assertEqual(os.listdir(marks), [], "neither dependent's command ran")

    def test_a_dependent_runs_only_after_its_dependency_succeeded(self):
        first = self.run_script(self.queue, "sleep 0.5; echo first")
        second = self.run_script(self.queue, "echo second", dependsOn=[{"jobId": first}])
        done_first, done_second = self.finish(first), self.finish(second)
        self.assertEqual((done_first["status"], done_second["status"]), ("SUCCEEDED", "SUCCEEDED"))
        self.assertGreaterEqual(done_second["attempts"][0]["startedAt"], done_first["attempts"][0]["stoppedAt"])


# ==== 6. Cancel and terminate ===================================================================

class CancelAndTerminateTests(SemanticsTestCase):
    def test_a_cancelled_runnable_job_fails_with_the_reason_and_never_runs(self):
        marks = self.marker_dir()
        environment = self.room(vcpus=1, state="DISABLED")
        queue = self.queue_on(environment)
        job_id = self.run_script(queue, f"touch {marks}/ran")
        self.wait_for_status(job_id, "RUNNABLE")
        self.assertCLIOk(self.aws("cancel-job", "--job-id", job_id, "--reason", "changed my mind"))
        job = self.finish(job_id)
        self.assertEqual((job["status"], job["statusReason"], job["isCancelled"]), ("FAILED", "changed my mind", True))
        self.batch.update_compute_environment(computeEnvironment=environment, state="ENABLED")
        time.sleep(1.0)
        job = self.describe_job(job_id)
        self.assertEqual((job["status"], job["attempts"]), ("FAILED", []), "enabling the environment does not revive it")
        self.assertEqual(os.listdir(marks), [])

    def test_cancel_of_a_running_job_is_a_no_op_and_the_job_succeeds(self):
        environment = self.room(vcpus=1)
        queue = self.queue_on(environment)
        job_id = self.run_script(queue, "sleep 3; echo finished")
        self.wait_for_status(job_id, "RUNNING")
        self.batch.cancel_job(jobId=job_id, reason="too late")
        self.assertEqual(self.describe_job(job_id)["status"], "RUNNING")
        job = self.finish(job_id)
        self.assertEqual(job["status"], "SUCCEEDED")
        self.assertNotEqual(job.get("statusReason"), "too late")
        self.assertFalse(job["isCancelled"])
        self.assertEqual(self.exit_codes(job), [0])
        self.assertEqual(self.log(job_id), ["finished"])

    def test_terminate_of_a_running_job_fails_it_with_the_reason_and_no_retry(self):
        environment = self.room(vcpus=1)
        queue = self.queue_on(environment)
        job_id = self.run_script(queue, "echo started; exec sleep 30", retryStrategy={"attempts": 3})
        self.wait_for_status(job_id, "RUNNING")
        terminated_at = now_ms()
        self.assertCLIOk(self.aws("terminate-job", "--job-id", job_id, "--reason", "operator stop"))
        job = self.finish(job_id, timeout=15)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", "operator stop"))
        self.assertTrue(job["isTerminated"])
        [attempt] = job["attempts"]
        self.assertGreaterEqual(attempt["stoppedAt"], terminated_at - 50)
        self.assertLess(attempt["stoppedAt"] - attempt["startedAt"], 15_000, "the process was stopped, not left to finish")
        time.sleep(1.0)
        job = self.describe_job(job_id)
        self.assertEqual((job["status"], len(job["attempts"])), ("FAILED", 1), "a terminated job is never retried")
        self.assertEqual(self.log(job_id), ["started"])

    def test_terminate_of_an_array_parent_terminates_its_running_children(self):
        environment = self.room(vcpus=2)
        queue = self.queue_on(environment)
        parent = self.submit(queue, arrayProperties={"size": 2}, retryStrategy={"attempts": 2},
                             containerOverrides={"command": sh("exec sleep 30")})["jobId"]
        children = [f"{parent}:0", f"{parent}:1"]
        for child in children:
            self.wait_for_status(child, "RUNNING")
        self.batch.terminate_job(jobId=parent, reason="stop the array")
        for child in children:
            with self.subTest(child=child):
                job = self.finish(child, timeout=15)
                self.assertEqual((job["status"], job["statusReason"]), ("FAILED", "stop the array"))
                self.assertTrue(job["isTerminated"])
                self.assertEqual(len(job["attempts"]), 1, "terminated children are not retried")
        job = self.finish(parent)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", "2 of 2 child jobs failed"))
        self.assertEqual(job["arrayProperties"]["statusSummary"]["FAILED"], 2)


# ==== 7. maxvCpus is a hard cap ===================================================================

class MaxVCPUTests(SemanticsTestCase):
    def managed(self, max_vcpus):
        name = unique("ce")
        self.batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED",
            computeResources={"type": "EC2", "maxvCpus": max_vcpus, "minvCpus": 0, "subnets": []},
            # The executor offers 4 vCPUs; maxvCpus caps what the scheduler may use.
            tags={"docket:executor": "process", "docket:vcpus": "4", "docket:memory_mib": "4096"})
        return name

    def intervals(self, job_ids):
        spans = []
        for job_id in job_ids:
            job = self.finish(job_id)
            self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
            [attempt] = job["attempts"]
            spans.append((attempt["startedAt"], attempt["stoppedAt"]))
        return sorted(spans)

    def test_max_vcpus_one_runs_one_one_vcpu_job_at_a_time(self):
        environment = self.managed(1)
        queue = self.queue_on(environment)
        jobs = [self.run_script(queue, "sleep 0.4") for _ in range(3)]
        spans = self.intervals(jobs)
        for (_, stopped), (started, _) in zip(spans, spans[1:]):
            self.assertLessEqual(stopped, started, f"attempts overlap: {spans}")

    def test_raising_max_vcpus_lets_jobs_run_side_by_side(self):
        environment = self.managed(1)
        queue = self.queue_on(environment)
        self.batch.update_compute_environment(computeEnvironment=environment, computeResources={"maxvCpus": 2})
        jobs = [self.run_script(queue, "sleep 1.5") for _ in range(2)]
        spans = self.intervals(jobs)
        self.assertLess(spans[1][0], spans[0][1], f"with maxvCpus 2 both 1-vCPU jobs run at once: {spans}")

    def test_a_job_above_max_vcpus_waits_with_the_reason(self):
        environment = self.managed(1)
        queue = self.queue_on(environment)
        job_id = self.submit(queue, containerOverrides={"command": ["true"],
                                                        "resourceRequirements": [{"type": "VCPU", "value": "2"}]})["jobId"]
        job = self.assertStaysIn(job_id, "RUNNABLE", 1.0)
        self.assertEqual(job["attempts"], [])
        # Reference §12.1 #2: every CE's maxvCpus is below the job's vCPUs (the executor itself
        # offers 4, so the job's requirement could be met but for maxvCpus).
        self.assertTrue(job.get("statusReason", "").startswith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"),
                        job.get("statusReason"))
        self.batch.update_compute_environment(computeEnvironment=environment, computeResources={"maxvCpus": 2})
        self.assertEqual(self.finish(job_id)["status"], "SUCCEEDED", "it runs once the capacity is raised")


class TimeLimitActionTests(SemanticsTestCase):
    def test_a_job_blocked_at_the_head_for_max_time_seconds_is_cancelled_and_the_next_runs(self):
        environment = self.room(vcpus=2)
        queue = self.create_queue(ces=[environment], jobStateTimeLimitActions=[
            {"reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "state": "RUNNABLE", "maxTimeSeconds": 2, "action": "CANCEL"}])
        blocked = self.submit(queue, containerOverrides={"command": ["true"],
                                                         "resourceRequirements": [{"type": "VCPU", "value": "8"}]})["jobId"]
        behind = self.submit(queue)["jobId"]
        started = now_ms()
        job = self.finish(blocked, timeout=15)
        self.assertEqual(job["status"], "FAILED")
        self.assertEqual(job["statusReason"], "Canceled by JobStateTimeLimit action due to reason: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
        self.assertTrue(job["isCancelled"])
        self.assertEqual(job["attempts"], [])
        self.assertGreaterEqual(job["stoppedAt"] - started, 1500, "not before maxTimeSeconds")
        self.assertEqual(self.finish(behind)["status"], "SUCCEEDED")

    def test_an_action_for_another_reason_leaves_the_job_waiting(self):
        environment = self.room(vcpus=2)
        queue = self.create_queue(ces=[environment], jobStateTimeLimitActions=[
            {"reason": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", "state": "RUNNABLE", "maxTimeSeconds": 1, "action": "CANCEL"}])
        blocked = self.submit(queue, containerOverrides={"command": ["true"],
                                                         "resourceRequirements": [{"type": "VCPU", "value": "8"}]})["jobId"]
        job = self.assertStaysIn(blocked, "RUNNABLE", 2.5)
        self.assertTrue(job["statusReason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"), job["statusReason"])
        self.batch.terminate_job(jobId=blocked, reason="cleanup")


class TagPropagationTests(SemanticsTestCase):
    def definition_with_tags(self, count):
        return self.register(tags={f"def{i}": "d" for i in range(count)})["jobDefinitionArn"]

    def test_a_job_keeps_its_own_tags_and_says_whether_they_propagate(self):
        environment = self.room(vcpus=2)
        queue = self.queue_on(environment)
        definition = self.definition_with_tags(3)
        job_id = self.submit(queue, definition=definition, tags={"team": "lab"}, propagateTags=True)["jobId"]
        job = self.finish(job_id)
        self.assertEqual(job["status"], "SUCCEEDED", job.get("statusReason"))
        self.assertEqual(job["tags"], {"team": "lab"}, "the definition's tags are propagated, not merged into the job's")
        self.assertTrue(job["propagateTags"])

    def test_more_than_fifty_propagated_tags_fail_the_job_without_running_it(self):
        environment = self.room(vcpus=2)
        queue = self.queue_on(environment)
        definition = self.definition_with_tags(30)
        tags = {f"job{i}": "j" for i in range(25)}
        failing = self.submit(queue, definition=definition, tags=tags, propagateTags=True)["jobId"]
        job = self.finish(failing)
        self.assertEqual(job["status"], "FAILED")
        self.assertIn("55 tags together; at most 50 can be propagated", job["statusReason"])
        self.assertEqual(job["attempts"], [])
        # Without propagation the same tags are fine; a clash counts once (the job's value wins).
        self.assertEqual(self.finish(self.submit(queue, definition=definition, tags=tags)["jobId"])["status"], "SUCCEEDED")
        clashing = {f"def{i}": "job" for i in range(20)}
        self.assertEqual(self.finish(self.submit(queue, definition=definition, tags=clashing, propagateTags=True)["jobId"])["status"],
                         "SUCCEEDED", "30 definition tags and 20 job tags with the same keys are 30 tags")


if __name__ == "__main__":
    unittest.main()
