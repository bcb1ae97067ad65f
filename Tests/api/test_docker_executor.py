"""The Docker executor (plugins/executor-docker) end to end: real `docket server` processes,
driven by boto3 and the real aws CLI, running real containers on the Docker engine of this
machine (scripts/docker-engine.sh starts it and builds the busybox test image).

Every test looks at what happened: statuses, statusReason and container reason texts, exit
codes, what the container printed (read from the attempt's log file, DATA_DIR/logs/ATTEMPT.log),
what it left on the host, and what `docker` itself shows (labels, containers left behind).

Without a Docker engine the tests are skipped with the reason docker-engine.sh gives, except
under CI=true, where a missing engine fails them (STYLE.md §6).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from Tests.api.docket_server import REPO_ROOT, ServerTestCase, unique

IMAGE = "docket-test/busybox:1"
ABSENT_IMAGE = "docket-test/absent:1"
TERMINAL = {"SUCCEEDED", "FAILED"}
ESSENTIAL_EXIT = "Essential container in task exited"
LAUNCH_FAILED = "Task failed to start"
# Scheduler.timeoutReason
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
TERMINATE_GRACE_SECONDS = 2

# One Docker compute environment and one queue per server (one server per test class). The
# class's own host directory is the only one its containers may mount; /dev/null the only device.
CONFIG = """\
server: {{ minimum_timeout_seconds: 1, terminate_grace_seconds: {grace} }}
compute_environments:
  - name: {ce}
    executor: docker
    settings: {{ vcpus: 4, memory_mib: 4096, allowed_host_paths: [{host_dir}], allowed_devices: [/dev/null] }}
job_queues:
  - {{ name: {queue}, priority: 1, compute_environments: [{ce}] }}
"""


def setUpModule():
    """Starts the engine and builds the image when missing; skips (fails under CI) when it cannot."""
    script = os.path.join(REPO_ROOT, "scripts", "docker-engine.sh")
    try:
        done = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600)
        failed, said = done.returncode != 0, done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        failed, said = True, f"{script} did not finish: {error}"
    if not failed:
        return
    reason = said.splitlines()[-1] if said else f"{script} exited {done.returncode} without a reason"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true, but no Docker engine is available for the Docker executor tests: {reason}")
    raise unittest.SkipTest(f"no Docker engine: {reason}")


def sh(script):
    return ["sh", "-c", script]


def docker(*args, check=True):
    """Runs the docker CLI (the engine the plugin uses: $DOCKER_HOST or the default socket); its stdout."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def host_interfaces():
    with open("/proc/net/dev") as f:
        return sorted(line.split(":", 1)[0].strip() for line in f.readlines()[2:])


# What a script prints to list the container's network interfaces (/proc/net/dev, as above).
LIST_INTERFACES = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"


class DockerTestCase(ServerTestCase):
    ce, queue = "docker-ce", "dq"

    @classmethod
    def setUpClass(cls):
        cls.host_dir = tempfile.mkdtemp(prefix="docket-docker-")
        os.chmod(cls.host_dir, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.host_dir, True)
        cls.server_config = CONFIG.format(ce=cls.ce, queue=cls.queue, host_dir=cls.host_dir, grace=TERMINATE_GRACE_SECONDS)
        super().setUpClass()

    # ---- builders ---------------------------------------------------------------------------

    def define(self, command, vcpus="1", memory="64", image=IMAGE, environment=None, parameters=None, **properties):
        """Registers a container job definition on the test image; returns its name."""
        name = unique("jd")
        props = {"image": image, "command": command,
                 "resourceRequirements": [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}]}
        if environment is not None:
            props["environment"] = [{"name": key, "value": value} for key, value in environment.items()]
        props.update(properties)
        extra = {"parameters": parameters} if parameters is not None else {}
        self.batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props, **extra)
        return name

    def submit_to(self, definition, queue=None, **extra):
        """Submits `definition` to `queue` (the class's Docker queue by default); returns the job id."""
        return self.batch.submit_job(jobName=unique("job"), jobQueue=queue or self.queue, jobDefinition=definition, **extra)["jobId"]

    def run_script(self, script, queue=None, **definition):
        return self.submit_to(self.define(sh(script), **definition), queue=queue)

    def docker_environment(self, **settings):
        """A Docker compute environment made through the API (settings as docket:KEY tags) and a queue on it."""
        ce, queue = unique("ce"), unique("jq")
        tags = {"docket:executor": "docker", "docket:vcpus": "2", "docket:memory_mib": "2048"}
        tags.update({f"docket:{key}": value for key, value in settings.items()})
        self.batch.create_compute_environment(computeEnvironmentName=ce, type="UNMANAGED", tags=tags)
        self.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
        return ce, queue

    def finish(self, job_id, timeout=30):
        return self.wait_for_status(job_id, TERMINAL, timeout=timeout)

    def succeed(self, job_id, timeout=30):
        job = self.finish(job_id, timeout)
        attempts = job.get("attempts") or [{}]
        self.assertEqual(job["status"], "SUCCEEDED",
                         f"{job.get('statusReason')}; container: {attempts[-1].get('container')}; log: {self.log(job_id)}")
        return job

    # ---- observations -----------------------------------------------------------------------

    def log(self, job_id, attempt=1):
        """Every line of the attempt's log file, Docket's `[docket]` notes included ([] when there is none)."""
        path = os.path.join(self.server.data_dir, "logs", f"{job_id}-{attempt}.log")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()

    def output(self, job_id, attempt=1):
        """What the container printed (stdout and stderr), without Docket's notes."""
        return [line for line in self.log(job_id, attempt) if not line.startswith("[docket]")]

    def containers(self, job_id, attempt=1):
        """Names of the engine's containers (any state) labelled with the attempt's id."""
        names = docker("ps", "-a", "--filter", f"label=docket.attempt-id={job_id}-{attempt}", "--format", "{{.Names}}")
        return names.split()

    def container_reason(self, job, attempt=0):
        return job["attempts"][attempt]["container"].get("reason", "")

    def wait_for_output(self, job_id, line, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.output(job_id):
                return
            time.sleep(0.05)
        self.fail(f"job {job_id} did not print {line!r} in {timeout}s; its log: {self.log(job_id)}")

    def assertContainerRemoved(self, job_id, attempt=1, timeout=10):
        """The attempt's container is gone from the engine (the executor removes it 3 s after reporting the exit)."""
        deadline = time.monotonic() + timeout
        while self.containers(job_id, attempt) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.containers(job_id, attempt), [], f"the container of {job_id}-{attempt} was left on the engine")

    def assertRefusedBeforeCreate(self, job_id, field):
        """The attempt failed to start with a reason naming `field`, and no container was ever made."""
        job = self.finish(job_id)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", LAUNCH_FAILED))
        self.assertEqual(len(job["attempts"]), 1)
        container = job["attempts"][0]["container"]
        self.assertTrue(container.get("reason", "").startswith("CannotCreateContainerError: "), container)
        self.assertIn(field, container["reason"])
        self.assertNotIn("exitCode", container, "nothing ran")
        self.assertEqual(self.containers(job_id), [], "no container was created for the refused attempt")
        self.assertEqual(self.output(job_id), [])
        return container["reason"]


# ==== 1. Exit codes, logs and labels ==============================================================

class ContainerRunTests(DockerTestCase):
    def test_exit_zero_succeeds_and_the_container_is_removed(self):
        definition = self.define(["true"])
        submitted = self.assertCLIOk(self.aws("submit-job", "--job-name", unique("ok"), "--job-queue", self.queue,
                                              "--job-definition", definition,
                                              "--container-overrides", json.dumps({"command": sh("echo done")})))
        job_id = submitted["jobId"]
        self.finish(job_id)
        described = self.assertCLIOk(self.aws("describe-jobs", "--jobs", job_id))
        [job] = described["jobs"]
        self.assertEqual((job["status"], job["statusReason"]), ("SUCCEEDED", ESSENTIAL_EXIT))
        [attempt] = job["attempts"]
        self.assertEqual(attempt["container"]["exitCode"], 0)
        self.assertNotIn("reason", attempt["container"])
        self.assertEqual(attempt["container"]["taskArn"], f"container docket-{job_id}-1")
        self.assertEqual(self.output(job_id), ["done"])
        self.assertContainerRemoved(job_id)

    def test_exit_three_fails_with_the_exit_code(self):
        job_id = self.run_script("exit 3")
        self.finish(job_id)
        [job] = self.assertCLIOk(self.aws("describe-jobs", "--jobs", job_id))["jobs"]
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", ESSENTIAL_EXIT))
        [attempt] = job["attempts"]
        self.assertEqual(attempt["container"]["exitCode"], 3)
        self.assertEqual(attempt["statusReason"], ESSENTIAL_EXIT)
        self.assertEqual(job["container"]["exitCode"], 3)
        self.assertContainerRemoved(job_id)

    def test_a_container_that_exits_at_once_has_started_at_no_later_than_stopped_at(self):
        # Docker's State.FinishedAt of a container that exits within a few ms is often *before*
        # its State.StartedAt (StartedAt is stamped after runc start returns, FinishedAt is the
        # exit event's time). Eight jobs make at least one such container all but certain.
        definition = self.define(["true"])
        jobs = [self.submit_to(definition) for _ in range(8)]
        for job_id in jobs:
            with self.subTest(job=job_id):
                job = self.succeed(job_id)
                [attempt] = job["attempts"]
                self.assertLessEqual(attempt["startedAt"], attempt["stoppedAt"],
                                     "PLUGIN BUG: the attempt stopped before it started: the executor reports the "
                                     "engine's FinishedAt as stopped_at_ms although it is earlier than its StartedAt "
                                     "(and than the RUNNING the host stamped); clamp it to the start")
                self.assertLessEqual(job["startedAt"], job["stoppedAt"])

    def test_stdout_and_stderr_reach_the_attempt_log_after_the_container_note(self):
        job_id = self.run_script("echo to-stdout; echo to-stderr >&2; echo again-stdout")
        self.succeed(job_id)
        lines = self.log(job_id)
        self.assertRegex(lines[0] if lines else "",
                         rf"^\[docket\] container docket-{re.escape(job_id)}-1 \([0-9a-f]{{12}}\) from image {re.escape(IMAGE)} on \S+, network none$")
        output = self.output(job_id)
        self.assertEqual(sorted(output), ["again-stdout", "to-stderr", "to-stdout"], lines)
        self.assertLess(output.index("to-stdout"), output.index("again-stdout"), "one stream keeps its order")
        # The Docket log endpoint serves the same file.
        status, _, body = self.server.http("GET", f"/docket/v1/jobs/{job_id}/logs")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["data"].splitlines(), lines)

    def test_labels_name_the_job_attempt_environment_and_queue_while_it_runs(self):
        definition = self.define(sh("exec sleep 30"))
        name = unique("labelled")
        job_id = self.batch.submit_job(jobName=name, jobQueue=self.queue, jobDefinition=definition)["jobId"]
        self.wait_for_status(job_id, "RUNNING")
        inspected = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", f"docket-{job_id}-1"))
        self.assertEqual(inspected, {
            "docket.job-id": job_id,
            "docket.attempt-id": f"{job_id}-1",
            "docket.attempt": "1",
            "docket.job-name": name,
            "docket.compute-environment": self.ce,
            "docket.job-queue": self.queue,
            "docket.owner": os.path.join(self.server.data_dir, "executors", self.ce),
        })
        self.batch.terminate_job(jobId=job_id, reason="cleanup")
        self.finish(job_id)
        self.assertContainerRemoved(job_id)


# ==== 2. Environment, parameters, arrays ==========================================================

class ContainerEnvironmentTests(DockerTestCase):
    def test_the_batch_variables_reach_the_container(self):
        job_id = self.run_script('echo "id=$AWS_BATCH_JOB_ID attempt=$AWS_BATCH_JOB_ATTEMPT jq=$AWS_BATCH_JQ_NAME ce=$AWS_BATCH_CE_NAME"; '
                                 'echo "index=${AWS_BATCH_JOB_ARRAY_INDEX-unset}"')
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), [f"id={job_id} attempt=1 jq={self.queue} ce={self.ce}", "index=unset"])

    def test_container_overrides_environment_wins_over_the_definitions(self):
        definition = self.define(sh('echo "KEEP=$KEEP CHANGE=$CHANGE ADDED=$ADDED"'),
                                 environment={"KEEP": "from-definition", "CHANGE": "from-definition"})
        job_id = self.submit_to(definition, containerOverrides={
            "environment": [{"name": "CHANGE", "value": "from-override"}, {"name": "ADDED", "value": "new"}]})
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["KEEP=from-definition CHANGE=from-override ADDED=new"])

    def test_the_image_path_is_kept_when_the_job_sets_none(self):
        # The process executor's default PATH is not forced on a container: the image's (/bin) stays.
        job_id = self.run_script('echo "PATH=$PATH"')
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["PATH=/bin"])

    def test_ref_parameters_are_substituted_in_the_command(self):
        definition = self.define(["echo", "Ref::greeting", "Ref::name"], parameters={"greeting": "hello", "name": "world"})
        job_id = self.submit_to(definition, parameters={"name": "docker"})
        job = self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["hello docker"])
        self.assertEqual(job["container"]["command"], ["echo", "hello", "docker"])

    def test_array_children_run_with_their_index(self):
        definition = self.define(sh('echo "index=$AWS_BATCH_JOB_ARRAY_INDEX"'))
        parent = self.submit_to(definition, arrayProperties={"size": 2})
        for index in range(2):
            child = f"{parent}:{index}"
            with self.subTest(child=child):
                job = self.finish(child)
                attempts = job["attempts"] or [{"container": {}}]
                self.assertEqual(job["status"], "SUCCEEDED",
                                 f"PLUGIN BUG: array child {child} did not run: {job.get('statusReason')}; "
                                 f"container reason: {attempts[0]['container'].get('reason')} (the attempt id "
                                 f"'{child}-1' holds ':', which Docker refuses in a container name)")
                self.assertEqual(self.output(child), [f"index={index}"])
        self.assertEqual(self.finish(parent)["status"], "SUCCEEDED")


# ==== 3. Resource limits ===========================================================================

class ResourceLimitTests(DockerTestCase):
    # cgroup v1: memory limit, CFS quota and period, shares; cgroup v2: memory.max and cpu.max.
    SHOW_LIMITS = ("if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then "
                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                   "/sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares; "
                   "else cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max; fi")

    def test_vcpu_and_memory_requirements_are_the_containers_cgroup_limits(self):
        cgroup_v1 = os.path.isdir("/sys/fs/cgroup/memory")
        cases = {("1", "64"): (67108864, 100000, 1024), ("2", "128"): (134217728, 200000, 2048)}
        jobs = {case: self.run_script(self.SHOW_LIMITS, vcpus=case[0], memory=case[1]) for case in cases}
        for (vcpus, memory), (limit, quota, shares) in cases.items():
            with self.subTest(vcpus=vcpus, memory=memory):
                job_id = jobs[(vcpus, memory)]
                self.succeed(job_id)
                expected = ([str(limit), str(quota), "100000", str(shares)] if cgroup_v1
                            else [str(limit), f"{quota} 100000"])
                self.assertEqual(self.output(job_id), expected)

    def test_a_container_over_its_memory_is_oom_killed(self):
        job_id = self.run_script('a=$(head -c 50000000 /dev/zero | tr "\\0" x); echo survived', memory="8")
        job = self.finish(job_id)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", ESSENTIAL_EXIT))
        [attempt] = job["attempts"]
        self.assertEqual(attempt["container"].get("reason"), OOM_REASON)
        self.assertEqual(attempt["container"]["exitCode"], 137)
        self.assertNotIn("survived", self.output(job_id))
        self.assertContainerRemoved(job_id)


# ==== 4. Timeouts and TerminateJob =================================================================

class StopTests(DockerTestCase):
    def test_a_timed_out_attempt_fails_with_the_timeout_reason_and_is_not_retried(self):
        definition = self.define(["sleep", "60"])
        job_id = self.submit_to(definition, timeout={"attemptDurationSeconds": 2}, retryStrategy={"attempts": 2})
        job = self.finish(job_id, timeout=20)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", TIMEOUT_REASON))
        [attempt] = job["attempts"]
        self.assertEqual(attempt["statusReason"], TIMEOUT_REASON)
        # sleep as PID 1 ignores SIGTERM: the engine kills it after the grace.
        self.assertEqual(attempt["container"]["exitCode"], 137)
        ran_ms = attempt["stoppedAt"] - attempt["startedAt"]
        self.assertGreaterEqual(ran_ms, 2000, "stopped before attemptDurationSeconds")
        self.assertLess(ran_ms, (2 + TERMINATE_GRACE_SECONDS + 3) * 1000, "not stopped within the timeout plus the grace")
        self.assertContainerRemoved(job_id)

    def test_terminate_of_a_running_container_fails_the_job_with_the_reason_and_removes_it(self):
        job_id = self.run_script("exec sleep 60")
        self.wait_for_status(job_id, "RUNNING")
        self.assertEqual(len(self.containers(job_id)), 1, "the container exists while the job runs")
        self.assertCLIOk(self.aws("terminate-job", "--job-id", job_id, "--reason", "operator stop"))
        job = self.finish(job_id, timeout=15)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", "operator stop"))
        self.assertTrue(job["isTerminated"])
        [attempt] = job["attempts"]
        self.assertEqual(attempt["container"]["exitCode"], 137, "SIGTERM ignored by PID 1, SIGKILL after the grace")
        self.assertContainerRemoved(job_id)

    def test_terminate_sends_sigterm_first_and_a_container_that_handles_it_exits_with_its_code(self):
        job_id = self.run_script("trap 'echo got-term; exit 143' TERM; echo started; while true; do sleep 0.1; done")
        self.wait_for_status(job_id, "RUNNING")
        self.wait_for_output(job_id, "started")
        self.batch.terminate_job(jobId=job_id, reason="graceful stop")
        job = self.finish(job_id, timeout=15)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", "graceful stop"))
        self.assertEqual(job["attempts"][0]["container"]["exitCode"], 143)
        self.assertEqual(self.output(job_id), ["started", "got-term"])
        self.assertContainerRemoved(job_id)


# ==== 5. Images and pull policies =================================================================

class PullPolicyTests(DockerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.never_ce, cls.never_queue = unique("ce"), unique("jq")
        cls.batch.create_compute_environment(computeEnvironmentName=cls.never_ce, type="UNMANAGED", tags={
            "docket:executor": "docker", "docket:vcpus": "2", "docket:memory_mib": "2048", "docket:pull_policy": "never"})
        cls.batch.create_job_queue(jobQueueName=cls.never_queue, priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": cls.never_ce}])

    def test_pull_policy_never_fails_every_attempt_of_a_missing_image_naming_it(self):
        job_id = self.submit_to(self.define(["true"], image=ABSENT_IMAGE), queue=self.never_queue, retryStrategy={"attempts": 2})
        job = self.finish(job_id)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", LAUNCH_FAILED))
        self.assertEqual(len(job["attempts"]), 2, "a launch failure is retried like any failed attempt")
        for number, attempt in enumerate(job["attempts"], start=1):
            with self.subTest(attempt=number):
                reason = attempt["container"].get("reason", "")
                self.assertTrue(reason.startswith("CannotPullContainerError: "), reason)
                self.assertIn(ABSENT_IMAGE, reason)
                self.assertIn("pull policy is never", reason)
                self.assertEqual(self.containers(job_id, number), [])
        self.assertNotIn(f"[docket] pulling image {ABSENT_IMAGE}", self.log(job_id), "never means no pull was tried")

    def test_pull_policy_never_runs_an_image_that_is_present(self):
        job_id = self.submit_to(self.define(sh('echo "ce=$AWS_BATCH_CE_NAME"')), queue=self.never_queue)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), [f"ce={self.never_ce}"])

    def test_docket_pull_policy_in_the_job_environment_overrides_the_environments(self):
        definition = self.define(["true"], image=ABSENT_IMAGE, environment={"DOCKET_PULL_POLICY": "never"})
        job_id = self.submit_to(definition)
        job = self.finish(job_id)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", LAUNCH_FAILED))
        reason = self.container_reason(job)
        self.assertTrue(reason.startswith("CannotPullContainerError: "), reason)
        self.assertIn(ABSENT_IMAGE, reason)
        self.assertIn("pull policy is never", reason)
        # And the variable itself is the executor's, not the container's.
        present = self.submit_to(self.define(sh('echo "policy=${DOCKET_PULL_POLICY-unset}"'), environment={"DOCKET_PULL_POLICY": "never"}))
        self.succeed(present)
        self.assertEqual(self.output(present), ["policy=unset"])

    def test_if_missing_pulls_and_an_unreachable_registry_fails_the_attempt_fast(self):
        submitted_at = time.monotonic()
        job_id = self.submit_to(self.define(["true"], image=ABSENT_IMAGE))
        job = self.finish(job_id, timeout=60)
        self.assertLess(time.monotonic() - submitted_at, 30, "a pull with no registry reachable fails, it does not hang")
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", LAUNCH_FAILED))
        reason = self.container_reason(job)
        self.assertTrue(reason.startswith(f"CannotPullContainerError: pulling {ABSENT_IMAGE}: Error response from daemon: "), reason)
        self.assertEqual(self.log(job_id)[:1], [f"[docket] pulling image {ABSENT_IMAGE}"])
        self.assertEqual(self.containers(job_id), [])

    def test_an_unknown_docket_pull_policy_is_refused_before_any_container(self):
        definition = self.define(["true"], environment={"DOCKET_PULL_POLICY": "sometimes"})
        reason = self.assertRefusedBeforeCreate(self.submit_to(definition), "environment.DOCKET_PULL_POLICY")
        self.assertEqual(reason, "CannotCreateContainerError: environment.DOCKET_PULL_POLICY is 'sometimes'; "
                                 "use one of if-missing, always, never.")


# ==== 6. Requests refused before any container is created =========================================

class RefusedRequestTests(DockerTestCase):
    def test_an_image_name_docker_rejects(self):
        self.assertRefusedBeforeCreate(self.submit_to(self.define(["true"], image="Bad/Image:1")), "containerProperties.image")

    def test_a_host_path_outside_allowed_host_paths(self):
        definition = self.define(["true"], volumes=[{"name": "etc", "host": {"sourcePath": "/etc"}}],
                                 mountPoints=[{"sourceVolume": "etc", "containerPath": "/host-etc"}])
        reason = self.assertRefusedBeforeCreate(self.submit_to(definition), "containerProperties.volumes[0].host.sourcePath")
        self.assertIn("'/etc'", reason)

    def test_a_host_path_leaving_an_allowed_directory_through_dot_dot(self):
        escape = os.path.join(self.host_dir, "..", "..", "etc")
        definition = self.define(["true"], volumes=[{"name": "up", "host": {"sourcePath": escape}}],
                                 mountPoints=[{"sourceVolume": "up", "containerPath": "/up"}])
        self.assertRefusedBeforeCreate(self.submit_to(definition), "containerProperties.volumes[0].host.sourcePath")

    def test_a_host_path_leaving_an_allowed_directory_through_a_symlink(self):
        link = os.path.join(self.host_dir, unique("link"))
        os.symlink("/etc", link)
        definition = self.define(["true"], volumes=[{"name": "link", "host": {"sourcePath": link}}],
                                 mountPoints=[{"sourceVolume": "link", "containerPath": "/link"}])
        self.assertRefusedBeforeCreate(self.submit_to(definition), "containerProperties.volumes[0].host.sourcePath")

    def test_privileged_without_allow_privileged(self):
        self.assertRefusedBeforeCreate(self.submit_to(self.define(["true"], privileged=True)), "containerProperties.privileged")

    def test_a_network_mode_the_environment_does_not_allow(self):
        definition = self.define(["true"], environment={"DOCKET_NETWORK_MODE": "host"})
        reason = self.assertRefusedBeforeCreate(self.submit_to(definition), "DOCKET_NETWORK_MODE")
        self.assertIn("'host'", reason)

    def test_a_network_mode_asked_for_in_container_overrides(self):
        job_id = self.submit_to(self.define(["true"]), containerOverrides={
            "environment": [{"name": "DOCKET_NETWORK_MODE", "value": "bridge"}]})
        self.assertRefusedBeforeCreate(job_id, "DOCKET_NETWORK_MODE")

    def test_memory_below_dockers_minimum(self):
        # AWS accepts MEMORY 4; Docker refuses limits below 6 MiB.
        reason = self.assertRefusedBeforeCreate(self.submit_to(self.define(["true"], memory="4")), "MEMORY")
        self.assertIn("6 MiB", reason)

    def test_a_device_not_in_allowed_devices(self):
        definition = self.define(["true"], linuxParameters={"devices": [{"hostPath": "/dev/zero", "containerPath": "/dev/zero"}]})
        self.assertRefusedBeforeCreate(self.submit_to(definition), "containerProperties.linuxParameters.devices[0].hostPath")


# ==== 7. containerProperties inside the container =================================================

class ContainerPropertyTests(DockerTestCase):
    def test_host_volumes_are_mounted_read_write_and_read_only(self):
        given = os.path.join(self.host_dir, unique("in"))
        os.makedirs(given)
        with open(os.path.join(given, "given.txt"), "w") as f:
            f.write("from the host\n")
        results = os.path.join(self.host_dir, unique("out"))  # missing: created for the container, as AWS does
        script = ('echo "written by $AWS_BATCH_JOB_ID" > /out/result.txt; cat /in/given.txt; '
                  'if touch /in/new 2>/dev/null; then echo in-writable; else echo in-read-only; fi')
        definition = self.define(sh(script),
                                 volumes=[{"name": "out", "host": {"sourcePath": results}}, {"name": "in", "host": {"sourcePath": given}}],
                                 mountPoints=[{"sourceVolume": "out", "containerPath": "/out"},
                                              {"sourceVolume": "in", "containerPath": "/in", "readOnly": True}])
        job_id = self.submit_to(definition)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["from the host", "in-read-only"])
        with open(os.path.join(results, "result.txt")) as f:
            self.assertEqual(f.read(), f"written by {job_id}\n")
        self.assertFalse(os.path.exists(os.path.join(given, "new")))

    def test_a_volume_without_host_is_writable_scratch(self):
        definition = self.define(sh("echo kept > /scratch/file && cat /scratch/file && grep -c ' /scratch ' /proc/mounts"),
                                 volumes=[{"name": "scratch"}], mountPoints=[{"sourceVolume": "scratch", "containerPath": "/scratch"}])
        job_id = self.submit_to(definition)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["kept", "1"])

    def test_readonly_root_filesystem(self):
        script = "if touch /x 2>/dev/null; then echo root-writable; else echo root-read-only; fi"
        read_only = self.submit_to(self.define(sh(script), readonlyRootFilesystem=True))
        writable = self.submit_to(self.define(sh(script)))
        self.succeed(read_only)
        self.succeed(writable)
        self.assertEqual(self.output(read_only), ["root-read-only"])
        self.assertEqual(self.output(writable), ["root-writable"], "without the flag the root is writable")

    def test_ulimits(self):
        job_id = self.submit_to(self.define(sh("ulimit -Sn; ulimit -Hn"),
                                            ulimits=[{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}]))
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["1024", "2048"])

    def test_tmpfs_mounts(self):
        job_id = self.submit_to(self.define(sh("grep ' /fast ' /proc/mounts"), linuxParameters={
            "tmpfs": [{"containerPath": "/fast", "size": 16, "mountOptions": ["noexec"]}]}))
        self.succeed(job_id)
        [mount] = self.output(job_id)
        device, path, kind, options = mount.split()[:4]
        self.assertEqual((device, path, kind), ("tmpfs", "/fast", "tmpfs"))
        self.assertIn("size=16384k", options.split(","))
        self.assertIn("noexec", options.split(","))

    def test_shared_memory_size(self):
        job_id = self.submit_to(self.define(sh("grep ' /dev/shm ' /proc/mounts"), linuxParameters={"sharedMemorySize": 32}))
        self.succeed(job_id)
        [mount] = self.output(job_id)
        self.assertIn("size=32768k", mount.split()[3].split(","), mount)

    def test_init_process_enabled_puts_docker_init_at_pid_1(self):
        script = "tr '\\0' '\\n' < /proc/1/cmdline | head -n 1"
        with_init = self.submit_to(self.define(sh(script), linuxParameters={"initProcessEnabled": True}))
        without = self.submit_to(self.define(sh(script)))
        self.succeed(with_init)
        self.succeed(without)
        self.assertEqual(self.output(with_init), ["/sbin/docker-init"])
        self.assertEqual(self.output(without), ["sh"], "without it the command is PID 1")

    def test_an_allowed_device_is_mapped_to_its_container_path(self):
        script = "[ -c /dev/mynull ] && echo char-device; echo x > /dev/mynull && echo written; stat -c '%t,%T' /dev/mynull"
        job_id = self.submit_to(self.define(sh(script), linuxParameters={
            "devices": [{"hostPath": "/dev/null", "containerPath": "/dev/mynull", "permissions": ["READ", "WRITE"]}]}))
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["char-device", "written", "1,3"])

    def test_user_runs_the_command_as_that_user(self):
        job_id = self.submit_to(self.define(sh("id -u; id -g"), user="nobody"))
        job = self.finish(job_id)
        reason = self.container_reason(job)
        self.assertNotIn("executable file not found", reason,
                         f"TEST IMAGE BUG: {IMAGE}'s / is mode 0700 (scripts/docker-engine.sh imports a `mktemp -d` "
                         f"directory without chmod 755), so no user but root can reach /bin/sh; "
                         f"rebuild the image after fixing the script (docker rmi {IMAGE}; bash scripts/docker-engine.sh)")
        self.assertEqual(job["status"], "SUCCEEDED", f"{job.get('statusReason')}: {reason}")
        self.assertEqual(self.output(job_id), ["65534", "65534"])

    def test_the_network_is_none_by_default(self):
        job_id = self.run_script(LIST_INTERFACES)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["lo"])


# ==== 8. Compute environment settings through the API ===========================================

class SettingsTests(DockerTestCase):
    def test_an_unknown_setting_is_refused_naming_it_and_nothing_is_stored(self):
        name = unique("ce")
        self.assertClientError(lambda: self.batch.create_compute_environment(
            computeEnvironmentName=name, type="UNMANAGED", tags={"docket:executor": "docker", "docket:pull_polcy": "never"}),
            "docker executor: setting 'pull_polcy' is not known; remove it", "pull_policy")
        self.assertEqual(self.batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"], [])

    def test_a_pull_policy_docker_does_not_know_is_refused(self):
        self.assertClientError(lambda: self.batch.create_compute_environment(
            computeEnvironmentName=unique("ce"), type="UNMANAGED", tags={"docket:executor": "docker", "docket:pull_policy": "sometimes"}),
            "pull_policy is 'sometimes'; use one of if-missing, always, never")

    def test_network_mode_host_needs_allowed_network_modes_to_confirm(self):
        self.assertClientError(lambda: self.batch.create_compute_environment(
            computeEnvironmentName=unique("ce"), type="UNMANAGED", tags={"docket:executor": "docker", "docket:network_mode": "host"}),
            "network_mode is 'host'", "allowed_network_modes")

    def test_an_allowed_network_mode_is_granted_and_the_variable_stays_with_the_executor(self):
        _, queue = self.docker_environment(allowed_network_modes="bridge,host")
        definition = self.define(sh(f'echo "mode=${{DOCKET_NETWORK_MODE-unset}}"; {LIST_INTERFACES}'),
                                 environment={"DOCKET_NETWORK_MODE": "host"})
        job_id = self.submit_to(definition, queue=queue)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["mode=unset"] + host_interfaces(), "the host's network, its interfaces")
        self.assertTrue(self.log(job_id)[0].endswith(", network host"), self.log(job_id)[0])

    def test_working_dir(self):
        _, queue = self.docker_environment(working_dir="/work")
        job_id = self.run_script("pwd", queue=queue)
        self.succeed(job_id)
        self.assertEqual(self.output(job_id), ["/work"])

    def test_keep_failed_containers_keeps_failed_ones_only(self):
        _, queue = self.docker_environment(keep_failed_containers="true")
        failed = self.run_script("echo failing; exit 4", queue=queue)
        succeeded = self.run_script("echo fine", queue=queue)
        kept = f"docket-kept-{failed}-1"
        self.addCleanup(docker, "rm", "-f", kept, check=False)
        self.assertEqual(self.finish(failed)["status"], "FAILED")
        self.succeed(succeeded)
        deadline = time.monotonic() + 10
        while self.containers(failed) != [kept] and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.containers(failed), [kept], "the failed container is kept, renamed")
        self.assertEqual(docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", kept).strip(), "exited 4")
        self.assertEqual(docker("logs", kept).strip(), "failing")
        self.assertContainerRemoved(succeeded)


# ==== 9. An engine that does not answer ==========================================================

class SocketForwarder:
    """Listens on a unix socket and relays every connection to the real engine's socket: an
    engine that "comes up" at a new address."""

    def __init__(self, path, target):
        self.path, self.target = path, target
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Each socket is the source of exactly one pump, which closes it; the shutdowns end
            # the other direction's recv.
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()

    def close(self):
        self.closed = True
        self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def engine_socket():
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


class UnreachableEngineTests(DockerTestCase):
    def unreachable(self):
        path = f"/tmp/nothing-{unique('engine')}.sock"
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        ce, queue = self.docker_environment(docker_host=f"unix://{path}")
        return path, ce, queue

    def test_the_environment_is_invalid_naming_the_engine(self):
        path, ce, _ = self.unreachable()
        [described] = self.assertCLIOk(self.aws("describe-compute-environments", "--compute-environments", ce))["computeEnvironments"]
        self.assertEqual(described["status"], "INVALID")
        self.assertEqual(described["statusReason"],
                         f"CLIENT_ERROR - Docker engine at unix://{path} is unreachable: connect to {path}: No such file or directory. "
                         "Start the engine (dockerd) or point the compute environment's docker_host setting at one.")

    def test_a_job_waits_runnable_and_the_server_keeps_answering(self):
        path, ce, queue = self.unreachable()
        waiting = self.run_script("echo ran", queue=queue)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            asked = time.monotonic()
            job = self.describe_job(waiting)
            self.assertLess(time.monotonic() - asked, 1.0, "DescribeJobs answered slowly while an engine is down")
            self.assertEqual(job["status"], "RUNNABLE", job.get("statusReason"))
            time.sleep(0.2)
        self.assertEqual(job["attempts"], [])
        self.assertTrue(job["statusReason"].startswith(f"CLIENT_ERROR - no compute environment of job queue '{queue}' can run jobs now"),
                        job["statusReason"])
        self.assertIn(f"'{ce}': Docker engine at unix://{path} is unreachable", job["statusReason"])
        # The working Docker environment of the same server runs jobs meanwhile.
        elsewhere = self.run_script("echo elsewhere")
        self.succeed(elsewhere)
        self.assertEqual(self.output(elsewhere), ["elsewhere"])
        self.batch.cancel_job(jobId=waiting, reason="cleanup")

    def test_the_job_runs_once_the_engine_answers(self):
        path, ce, queue = self.unreachable()
        waiting = self.run_script("echo ran-after-all", queue=queue)
        self.wait_for_status(waiting, "RUNNABLE")
        forwarder = SocketForwarder(path, engine_socket())
        self.addCleanup(forwarder.close)
        job = self.succeed(waiting, timeout=30)  # the server asks its executors every 5 s
        self.assertEqual(self.output(waiting), ["ran-after-all"])
        self.assertEqual(job["attempts"][0]["container"]["exitCode"], 0)
        [described] = self.batch.describe_compute_environments(computeEnvironments=[ce])["computeEnvironments"]
        self.assertEqual((described["status"], described["statusReason"]), ("VALID", "ComputeEnvironment Healthy"))


if __name__ == "__main__":
    unittest.main()
