"""Job-level pinning, Docket's convention for the GPU executor: DOCKET_CPUSET_CPUS (the job's
CPUs), DOCKET_CPUSET_MEMS (its NUMA memory nodes) and DOCKET_DENY_DEVICES (device nodes it must
not open), honoured by the process executor (plugins/executor-process) and, for the first two,
by the Docker executor (plugins/executor-docker).

Real `docket server` processes, real jobs, real cgroups and a real Docker engine. Every test
looks through the job's own eyes: what /proc/self/status says of its CPUs and memory nodes,
whether it can open a device; plus the `[docket]` line in its log and the reason of a refusal.

The process tests need root and cgroup v1's cpuset and devices controllers, as on the CI
machines; elsewhere they are skipped with the reason, except under CI=true, where they fail.
The Docker tests need the engine (scripts/docker-engine.sh), with the same rule (STYLE.md §6).
"""

import os
import subprocess
import time
import unittest

from Tests.api.docket_server import REPO_ROOT, ServerTestCase, unique

IMAGE = "docket-test/busybox:1"
TERMINAL = {"SUCCEEDED", "FAILED"}
LAUNCH_FAILED = "Task failed to start"
CGROUP = "/sys/fs/cgroup"

# Two process compute environments: `pinned` with cgroups (the default, "auto") and `bare`
# with cgroups off, where only the supervisor's affinity and memory policy can pin.
PROCESS_CONFIG = """\
compute_environments:
  - { name: pinned, executor: process }
  - { name: bare, executor: process, settings: { cgroups: "off" } }
job_queues:
  - { name: pinned, priority: 1, compute_environments: [pinned] }
  - { name: bare, priority: 1, compute_environments: [bare] }
"""

DOCKER_CONFIG = """\
compute_environments:
  - { name: docker-ce, executor: docker, settings: { vcpus: 2, memory_mib: 2048 } }
job_queues:
  - { name: dq, priority: 1, compute_environments: [docker-ce] }
"""

# What a job prints of its own pinning.
SHOW_PINNING = "grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status"


def online(kind):
    """This machine's online CPUs or NUMA nodes (a sysfs list, e.g. "0-1"), and the first id beyond them."""
    path = f"/sys/devices/system/{kind}/online"
    text = "0"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read().strip()
    highest = max(int(part.split("-")[-1]) for part in text.split(","))
    return text, highest + 1


def missing_precondition(needs_docker):
    """Why this machine cannot run the tests, or None (STYLE.md §6: under CI=true that fails them)."""
    if needs_docker:
        script = os.path.join(REPO_ROOT, "scripts", "docker-engine.sh")
        try:
            done = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"no Docker engine: {script} did not finish: {error}"
        if done.returncode != 0:
            said = done.stderr.strip()
            return "no Docker engine: " + (said.splitlines()[-1] if said else f"{script} exited {done.returncode} without a reason")
        return None
    if os.geteuid() != 0:
        return "the process executor pins and denies devices through cgroups, which need a root server"
    for controller in ("cpuset", "devices"):
        if not os.access(os.path.join(CGROUP, controller), os.W_OK):
            return f"no writable cgroup v1 {controller} controller at {CGROUP}/{controller}"
    return None


def require(needs_docker=False):
    reason = missing_precondition(needs_docker)
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true, but the pinning tests cannot run: {reason}")
    raise unittest.SkipTest(reason)


class PinningTestCase(ServerTestCase):
    needs_docker = False

    @classmethod
    def setUpClass(cls):
        require(cls.needs_docker)
        super().setUpClass()

    def run_job(self, script, queue, environment, image="busybox"):
        """Submits `sh -c script` with `environment` to `queue` and waits for it to end; the job."""
        name = unique("jd")
        props = {"image": image, "command": ["sh", "-c", script],
                 "environment": [{"name": key, "value": value} for key, value in environment.items()],
                 "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}
        self.batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props)
        job_id = self.batch.submit_job(jobName=unique("job"), jobQueue=queue, jobDefinition=name)["jobId"]
        return self.wait_for_status(job_id, TERMINAL, timeout=30)

    def log(self, job_id):
        """Every line of the attempt's log file, Docket's `[docket]` notes included."""
        path = os.path.join(self.server.data_dir, "logs", f"{job_id}-1.log")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()

    def output(self, job_id):
        return [line for line in self.log(job_id) if not line.startswith("[docket]")]

    def notes(self, job_id):
        return [line for line in self.log(job_id) if line.startswith("[docket]") and "ignores the image" not in line]

    def succeed(self, script, queue, environment, **extra):
        job = self.run_job(script, queue, environment, **extra)
        self.assertEqual(job["status"], "SUCCEEDED",
                         f"{job.get('statusReason')}; container: {job['attempts'][-1].get('container')}; log: {self.log(job['jobId'])}")
        return job["jobId"]

    def assertRefused(self, queue, environment, *fragments, image="busybox"):
        """The attempt failed to start with a reason naming every fragment, and nothing ran."""
        job = self.run_job("echo ran", queue, environment, image=image)
        self.assertEqual((job["status"], job["statusReason"]), ("FAILED", LAUNCH_FAILED), job)
        [attempt] = job["attempts"]
        reason = attempt["container"].get("reason", "")
        for fragment in fragments:
            self.assertIn(fragment, reason)
        self.assertNotIn("exitCode", attempt["container"], "nothing ran")
        self.assertEqual(self.output(job["jobId"]), [])
        return reason

    def assertCgroupsRemoved(self, job_id, timeout=5):
        paths = [f"{CGROUP}/{controller}/docket/{job_id}-1" for controller in ("cpuset", "devices")]
        deadline = time.monotonic() + timeout
        while any(os.path.exists(path) for path in paths) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual([path for path in paths if os.path.exists(path)], [], "the attempt's cgroups outlive it")


# ==== 1. The process executor ===================================================================

class ProcessPinningTests(PinningTestCase):
    server_config = PROCESS_CONFIG

    def test_cpus_become_the_jobs_cpuset_and_its_log_says_so(self):
        job_id = self.succeed(SHOW_PINNING, "pinned", {"DOCKET_CPUSET_CPUS": "1"})
        self.assertIn("Cpus_allowed_list:\t1", self.output(job_id))
        self.assertEqual(self.notes(job_id), ["[docket] pinned to CPUs 1"])
        self.assertCgroupsRemoved(job_id)

    def test_the_job_cannot_widen_its_cpus(self):
        # The cpuset cgroup holds whatever the job does to its own affinity.
        job_id = self.succeed("taskset -p -c 0-1 $$ >/dev/null 2>&1; " + SHOW_PINNING, "pinned", {"DOCKET_CPUSET_CPUS": "0"})
        self.assertIn("Cpus_allowed_list:\t0", self.output(job_id))

    def test_mems_become_the_jobs_memory_nodes(self):
        cpus, _ = online("cpu")
        job_id = self.succeed(SHOW_PINNING, "pinned", {"DOCKET_CPUSET_MEMS": "0"})
        self.assertIn("Mems_allowed_list:\t0", self.output(job_id))
        self.assertIn(f"Cpus_allowed_list:\t{cpus}", self.output(job_id), "CPUs it does not pin stay the machine's")
        self.assertEqual(self.notes(job_id), ["[docket] pinned to NUMA node(s) 0"])

    def test_a_denied_device_cannot_be_opened_and_others_can(self):
        script = "head -c1 /dev/full; echo full=$?; head -c1 /dev/zero | wc -c"
        job_id = self.succeed(script, "pinned", {"DOCKET_DENY_DEVICES": "/dev/full,/dev/docket-no-such-gpu"})
        output = self.output(job_id)
        self.assertTrue(any("/dev/full" in line and "Operation not permitted" in line for line in output), output)
        self.assertIn("full=1", output)
        self.assertIn("1", [line.strip() for line in output], "/dev/zero still opens")
        self.assertEqual(self.notes(job_id), ["[docket] denied devices /dev/full"], "an absent device node is skipped")
        self.assertCgroupsRemoved(job_id)

    def test_all_three_together_make_one_log_line(self):
        cpus, _ = online("cpu")
        job_id = self.succeed(SHOW_PINNING + "; head -c1 /dev/full 2>&1 | grep -c 'not permitted'", "pinned",
                              {"DOCKET_CPUSET_CPUS": cpus, "DOCKET_CPUSET_MEMS": "0", "DOCKET_DENY_DEVICES": "/dev/full"})
        self.assertEqual(self.output(job_id), [f"Cpus_allowed_list:\t{cpus}", "Mems_allowed_list:\t0", "1"])
        self.assertEqual(self.notes(job_id), [f"[docket] pinned to CPUs {cpus} and NUMA node(s) 0; denied devices /dev/full"])

    def test_empty_variables_pin_nothing(self):
        job_id = self.succeed(SHOW_PINNING, "pinned", {"DOCKET_CPUSET_CPUS": "", "DOCKET_DENY_DEVICES": ""})
        self.assertEqual(self.notes(job_id), [])

    def test_malformed_lists_are_refused_naming_the_variable(self):
        for variable, value in [("DOCKET_CPUSET_CPUS", "0-"), ("DOCKET_CPUSET_CPUS", "one"), ("DOCKET_CPUSET_CPUS", "1-0"),
                                ("DOCKET_CPUSET_CPUS", "0, 1"), ("DOCKET_CPUSET_MEMS", "0;1")]:
            with self.subTest(variable=variable, value=value):
                reason = self.assertRefused("pinned", {variable: value}, f"containerProperties.environment {variable}: '{value}'")
                self.assertIn("is not a list of", reason)
                self.assertIn("e.g.", reason, "the reason shows the fix")

    def test_cpus_and_nodes_the_machine_lacks_are_refused(self):
        cpus, beyond_cpus = online("cpu")
        nodes, beyond_nodes = online("node")
        reason = self.assertRefused("pinned", {"DOCKET_CPUSET_CPUS": f"0-{beyond_cpus}"}, "DOCKET_CPUSET_CPUS",
                                    f"names CPU {beyond_cpus}, which this machine does not have online (online: {cpus})")
        self.assertIn(f"use CPUs from {cpus}", reason)
        self.assertRefused("pinned", {"DOCKET_CPUSET_CPUS": "99999999"}, "DOCKET_CPUSET_CPUS", "does not have online")
        self.assertRefused("pinned", {"DOCKET_CPUSET_MEMS": str(beyond_nodes)}, "DOCKET_CPUSET_MEMS",
                           f"names NUMA node {beyond_nodes}, which this machine does not have online (online: {nodes})")

    def test_a_listed_path_that_is_not_a_device_node_is_refused(self):
        self.assertRefused("pinned", {"DOCKET_DENY_DEVICES": "/dev/full,/etc/passwd"},
                           "containerProperties.environment DOCKET_DENY_DEVICES: '/etc/passwd' is not a device node")
        self.assertRefused("pinned", {"DOCKET_DENY_DEVICES": "dev/full"},
                           "DOCKET_DENY_DEVICES: 'dev/full' is not an absolute path")

    def test_without_cgroups_cpus_are_pinned_by_affinity_and_devices_are_not_denied(self):
        job_id = self.succeed(SHOW_PINNING + "; head -c1 /dev/full | wc -c", "bare",
                              {"DOCKET_CPUSET_CPUS": "1", "DOCKET_DENY_DEVICES": "/dev/full"})
        self.assertIn("Cpus_allowed_list:\t1", self.output(job_id))
        self.assertIn("1", [line.strip() for line in self.output(job_id)], "/dev/full was readable")
        self.assertIn("[docket] pinned to CPUs 1", self.notes(job_id))
        self.assertIn('[docket] devices /dev/full are not denied on this machine: the compute environment sets "cgroups": "off".',
                      self.notes(job_id))


# ==== 2. The Docker executor ====================================================================

class DockerPinningTests(PinningTestCase):
    needs_docker = True
    server_config = DOCKER_CONFIG

    def test_cpus_and_mems_reach_the_container(self):
        job_id = self.succeed(SHOW_PINNING, "dq", {"DOCKET_CPUSET_CPUS": "1", "DOCKET_CPUSET_MEMS": "0"}, image=IMAGE)
        self.assertEqual(self.output(job_id), ["Cpus_allowed_list:\t1", "Mems_allowed_list:\t0"])

    def test_the_variables_stay_in_the_containers_environment(self):
        job_id = self.succeed("echo cpus=$DOCKET_CPUSET_CPUS", "dq", {"DOCKET_CPUSET_CPUS": "0"}, image=IMAGE)
        self.assertEqual(self.output(job_id), ["cpus=0"])

    def test_deny_devices_is_ignored_by_containers(self):
        # A container sees only the devices it is given; /dev/full is one of Docker's defaults.
        job_id = self.succeed("head -c1 /dev/full | wc -c", "dq", {"DOCKET_DENY_DEVICES": "/dev/nvidia9"}, image=IMAGE)
        self.assertEqual([line.strip() for line in self.output(job_id)], ["1"])

    def test_malformed_and_absent_cpus_are_refused_before_create(self):
        cpus, beyond = online("cpu")
        reason = self.assertRefused("dq", {"DOCKET_CPUSET_CPUS": "0-"}, "CannotCreateContainerError: environment.DOCKET_CPUSET_CPUS: '0-' is not a list of CPUs", image=IMAGE)
        self.assertIn('e.g. "0-3,8"', reason)
        self.assertRefused("dq", {"DOCKET_CPUSET_CPUS": str(beyond)}, "environment.DOCKET_CPUSET_CPUS",
                           f"names CPU {beyond}, which the Docker engine's machine does not have online (online: {cpus})", image=IMAGE)
        _, beyond_nodes = online("node")
        self.assertRefused("dq", {"DOCKET_CPUSET_MEMS": f"0-{beyond_nodes}"}, "environment.DOCKET_CPUSET_MEMS",
                           f"names NUMA node {beyond_nodes}", image=IMAGE)


if __name__ == "__main__":
    unittest.main()
