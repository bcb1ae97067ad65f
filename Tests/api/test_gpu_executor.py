"""The GPU executor (plugins/executor-gpu) end to end: real `docket server` processes driven by
boto3, the real aws CLI and the `docket` CLI, running real processes and real containers that
check their own environment.

There is no GPU on these machines, so the inventories are a static list whose device nodes are
real character devices made with mknod under /dev (major 195, NVIDIA's; with no driver behind
them, opening one fails with ENXIO, while a node the device cgroup denies fails with EPERM), and
nvidia-smi outputs in files (Tests/DocketGPUInventoryTests/Fixtures), which the executor reads
again at every refresh, so a test can make a GPU disappear or fail.

Exclusivity is checked twice: each job takes a lock directory per GPU it was given and fails if
another job holds it, and the attempt records (taskArn names the GPUs, startedAt and stoppedAt
the interval) must show no GPU held by two attempts at once.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from Tests.api.docket_server import REPO_ROOT, ServerTestCase, binary_path, unique
from Tests.api.test_docker_executor import setUpModule as start_docker_engine  # noqa: F401 (see setUpModule)

IMAGE = "docket-test/busybox:1"
TERMINAL = {"SUCCEEDED", "FAILED"}
FIXTURES = os.path.join(REPO_ROOT, "Tests", "DocketGPUInventoryTests", "Fixtures")
PCIE_UUIDS = ["GPU-604f3ede-5453-58d0-9dee-1e5cca1cf11c", "GPU-656e5b13-c18b-0067-7dd9-f7863185aeda",
              "GPU-5b3345e2-9d64-1e15-1977-bd636621ef08", "GPU-456153a3-d61f-f81e-60c1-df77206fc434"]


def setUpModule():
    # The container tests need the engine and the test image; the same rule as the Docker
    # executor's tests: skipped without an engine, failed under CI=true.
    start_docker_engine()


def parse_list(text):
    """Linux's list format ("0-3,8") as numbers."""
    numbers = []
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        numbers += range(int(low), int(high or low) + 1)
    return numbers


def cpu_list(numbers):
    """Numbers in Linux's list format, ranges joined ("0-3,8")."""
    ranges = []
    for number in sorted(numbers):
        if ranges and ranges[-1][1] + 1 == number:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def online_cpus():
    with open("/sys/devices/system/cpu/online") as f:
        return parse_list(f.read())


def online_nodes():
    try:
        with open("/sys/devices/system/node/online") as f:
            return parse_list(f.read())
    except OSError:
        return [0]


class GPUTestCase(ServerTestCase):
    queue = "gq"

    def define(self, script, gpus=None, environment=None, vcpus="1"):
        name = unique("jd")
        requirements = [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": "64"}]
        if gpus is not None:
            requirements.append({"type": "GPU", "value": str(gpus)})
        props = {"image": IMAGE, "command": ["sh", "-c", script], "resourceRequirements": requirements}
        if environment:
            props["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
        self.batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props)
        return name

    def run_job(self, script, gpus=None, environment=None, queue=None):
        definition = self.define(script, gpus=gpus, environment=environment)
        return self.batch.submit_job(jobName=unique("job"), jobQueue=queue or self.queue, jobDefinition=definition)["jobId"]

    def finish(self, job_id, timeout=40):
        return self.wait_for_status(job_id, TERMINAL, timeout=timeout)

    def succeed(self, job_id, timeout=40):
        job = self.finish(job_id, timeout)
        self.assertEqual(job["status"], "SUCCEEDED", f"{job.get('statusReason')}; {job['attempts'][-1]['container'].get('reason')}; log:\n{self.log(job_id)}")
        return job

    def log(self, job_id, attempt=1):
        path = os.path.join(self.server.data_dir, "logs", f"{job_id}-{attempt}.log")
        with open(path, errors="replace") as f:
            return f.read()

    def variables(self, job_id):
        """The NAME=value lines the job printed."""
        return dict(line.split("=", 1) for line in self.log(job_id).splitlines() if re.match(r"^[A-Z_]+=", line))

    def docket(self, *args):
        done = subprocess.run([binary_path(), *args, "--endpoint", self.server.endpoint], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def gpus(self):
        """`docket gpus --json`: the GPUs of each GPU compute environment, by name."""
        answer = json.loads(self.docket("gpus", "--json"))
        return {ce["computeEnvironmentName"]: ce["gpus"] for ce in answer["computeEnvironments"]}

    @staticmethod
    def held_uuids(job):
        """The GPU UUIDs the attempt record names (taskArn: 'pid 42; GPUs 0 (GPU-…), 1 (GPU-…)')."""
        return re.findall(r"\((GPU-[^)]+|MIG-[^)]+)\)", job["attempts"][0]["container"].get("taskArn", ""))


# Four GPUs in two NVLink pairs (0-1 and 2-3, NODE between the pairs), the first pair beside the
# first online CPU, the second beside the last; their device nodes are made by setUpClass.
STATIC_CONFIG = """\
server: {{ minimum_timeout_seconds: 1, terminate_grace_seconds: 2 }}
compute_environments:
  - name: gpus
    executor: gpu
    settings:
      runners: process,docker
      container_gpu_access: device-nodes
      static_gpus: {gpus}
  - name: plain
    executor: process
job_queues:
  - {{ name: gq, priority: 1, compute_environments: [gpus] }}
  - {{ name: plainq, priority: 1, compute_environments: [plain] }}
"""


class StaticInventoryTests(GPUTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dev = tempfile.mkdtemp(prefix="docket-gpu-", dir="/dev")
        os.chmod(cls.dev, 0o755)  # jobs run as nobody
        cls.addClassCleanup(shutil.rmtree, cls.dev, True)
        cpus = online_cpus()
        cls.uuids = [f"GPU-{index:08x}-0000-4000-8000-{unique('u')[-10:]:0>12}" for index in range(4)]
        cls.nodes = []
        gpus = []
        for index, uuid in enumerate(cls.uuids):
            node = os.path.join(cls.dev, f"nvidia{index}")
            os.mknod(node, 0o666 | 0o020000, os.makedev(195, index))
            cls.nodes.append(node)
            entry = {"uuid": uuid, "model": "Test GPU", "numa_node": 0, "cpus": str(cpus[0] if index < 2 else cpus[-1]),
                     "device_nodes": [node], "pci_bus_id": f"00000000:{index + 1:02X}:00.0"}
            if index % 2 == 0:
                entry["links"] = {cls.uuids[index + 1]: "NV12"}
            gpus.append(entry)
        cls.cpus = [str(cpus[0]), str(cpus[0]), str(cpus[-1]), str(cpus[-1])]
        cls.server_config = STATIC_CONFIG.format(gpus=json.dumps(gpus))
        super().setUpClass()

    def test_a_two_gpu_job_gets_an_nvlink_pair_and_sees_only_it_by_uuid(self):
        job_id = self.run_job("env | sort", gpus=2)
        job = self.succeed(job_id)
        seen = self.variables(job_id)
        held = self.held_uuids(job)
        self.assertIn(sorted(held), [sorted(self.uuids[:2]), sorted(self.uuids[2:])], "an NVLink pair, never across the pairs")
        self.assertEqual(seen["CUDA_VISIBLE_DEVICES"].split(","), held, "the job sees exactly the GPUs its record names, by UUID")
        self.assertEqual(seen["NVIDIA_VISIBLE_DEVICES"], seen["CUDA_VISIBLE_DEVICES"])
        self.assertEqual(seen["CUDA_DEVICE_ORDER"], "PCI_BUS_ID")
        indexes = [str(self.uuids.index(uuid)) for uuid in held]
        self.assertEqual(seen["DOCKET_GPU_INDEXES"].split(","), indexes)
        task = job["attempts"][0]["container"]["taskArn"]
        self.assertRegex(task, r"^pid \d+; GPUs " + re.escape(f"{indexes[0]} ({held[0]}), {indexes[1]} ({held[1]})"))
        self.assertEqual(job["container"]["taskArn"], task, "the job's container shows the latest attempt's")
        self.assertIn(f"[docket] GPUs {indexes[0]} ({held[0]}), {indexes[1]} ({held[1]})", self.log(job_id))

    def test_the_job_is_pinned_to_its_gpus_cpus_and_numa_node(self):
        job_id = self.run_job("grep -E 'Cpus_allowed_list|Mems_allowed_list' /proc/self/status", gpus=1)
        job = self.succeed(job_id)
        index = self.uuids.index(self.held_uuids(job)[0])
        log = self.log(job_id)
        self.assertRegex(log, rf"Cpus_allowed_list:\s+{self.cpus[index]}\n")
        self.assertRegex(log, r"Mems_allowed_list:\s+0\n")
        self.assertIn(f"CPUs {self.cpus[index]} and memory on NUMA node 0", log)

    def test_a_process_job_cannot_open_the_other_gpus_device_nodes(self):
        script = "; ".join(f"head -c1 {node} 2>&1 | sed 's|^|{i}: |'" for i, node in enumerate(self.nodes))
        job_id = self.run_job(script + "; true", gpus=1)
        job = self.succeed(job_id)
        mine = self.uuids.index(self.held_uuids(job)[0])
        log = self.log(job_id)
        for index in range(4):
            line = next(l for l in log.splitlines() if l.startswith(f"{index}: "))
            # No driver stands behind these nodes: an allowed open reaches the kernel (ENXIO).
            expected = "No such device or address" if index == mine else "Operation not permitted"
            self.assertIn(expected, line, f"GPU {index}'s node, the job holding GPU {mine}")

    def test_a_job_asking_no_gpus_sees_none(self):
        job_id = self.run_job("env | sort; head -c1 " + self.nodes[0] + " 2>&1 | sed 's/^/node: /'; true")
        job = self.succeed(job_id)
        seen = self.variables(job_id)
        self.assertEqual(seen["CUDA_VISIBLE_DEVICES"], "")
        self.assertEqual(seen["NVIDIA_VISIBLE_DEVICES"], "none")
        self.assertIn("Operation not permitted", next(l for l in self.log(job_id).splitlines() if l.startswith("node: ")))
        self.assertEqual(self.held_uuids(job), [])

    def test_a_container_job_gets_only_its_gpus_device_nodes_and_variables(self):
        job_id = self.run_job(f"env | sort; ls {self.dev} | sed 's/^/dev: /'; grep Cpus_allowed_list /proc/self/status",
                              gpus=1, environment={"DOCKET_RUNNER": "docker"})
        job = self.succeed(job_id)
        held = self.held_uuids(job)
        index = self.uuids.index(held[0])
        log = self.log(job_id)
        self.assertEqual([l[5:] for l in log.splitlines() if l.startswith("dev: ")], [f"nvidia{index}"])
        self.assertEqual(self.variables(job_id)["CUDA_VISIBLE_DEVICES"], held[0])
        self.assertRegex(log, rf"Cpus_allowed_list:\s+{self.cpus[index]}\n")
        self.assertRegex(job["attempts"][0]["container"]["taskArn"], rf"^container docket-\S+; GPUs {index} \({held[0]}\)$")

    def test_a_burst_of_gpu_jobs_never_shares_a_gpu(self):
        locks = tempfile.mkdtemp(prefix="docket-gpu-locks-")
        os.chmod(locks, 0o777)
        self.addCleanup(shutil.rmtree, locks, True)
        # Each job takes a lock directory per GPU it sees, holds it a moment, and fails if
        # another job already holds one.
        script = (f"for g in $(echo $CUDA_VISIBLE_DEVICES | tr , ' '); do mkdir {locks}/$g || exit 7; done; "
                  f"sleep 0.$((RANDOM % 5 + 3)); for g in $(echo $CUDA_VISIBLE_DEVICES | tr , ' '); do rmdir {locks}/$g; done")
        definitions = {count: self.define(script, gpus=count, environment={"RANDOM": "1"}) for count in (1, 2, 4)}
        sizes = [1, 2, 1, 4, 2, 1, 1, 2, 4, 1, 2, 1, 1, 2, 1, 4, 1, 2, 1, 1, 2, 2, 1, 1]
        jobs = [self.batch.submit_job(jobName=unique("burst"), jobQueue=self.queue, jobDefinition=definitions[size])["jobId"]
                for size in sizes]
        records = [self.succeed(job_id, timeout=120) for job_id in jobs]
        intervals = []
        for size, job in zip(sizes, records):
            held = self.held_uuids(job)
            self.assertEqual(len(held), size, job["attempts"][0]["container"].get("taskArn"))
            attempt = job["attempts"][0]
            intervals.append((attempt["startedAt"], attempt["stoppedAt"], set(held), job["jobId"]))
        for i, (start_a, stop_a, gpus_a, id_a) in enumerate(intervals):
            for start_b, stop_b, gpus_b, id_b in intervals[i + 1:]:
                if gpus_a & gpus_b:
                    self.assertTrue(stop_a <= start_b or stop_b <= start_a,
                                    f"{id_a} and {id_b} both held {sorted(gpus_a & gpus_b)} at once")
        self.assertTrue(any(start_b < stop_a and start_a < stop_b for start_a, stop_a, _, _ in intervals
                            for start_b, stop_b, _, _ in intervals if (start_a, stop_a) != (start_b, stop_b)),
                        "the burst ran jobs side by side (else it proves nothing)")

    def test_docket_gpus_lists_each_gpu_and_the_job_holding_it(self):
        job_id = self.run_job("sleep 4", gpus=2)
        self.wait_for_status(job_id, "RUNNING", timeout=30)
        listed = self.gpus()["gpus"]
        self.assertEqual([gpu["uuid"] for gpu in listed], self.uuids)
        self.assertEqual([gpu["index"] for gpu in listed], [0, 1, 2, 3])
        self.assertEqual({gpu["model"] for gpu in listed}, {"Test GPU"})
        self.assertEqual({gpu["health"] for gpu in listed}, {"HEALTHY"})
        holding = [gpu["uuid"] for gpu in listed if gpu.get("jobId") == job_id]
        self.assertEqual(sorted(holding), sorted(self.held_uuids(self.describe_job(job_id))))
        table = self.docket("gpus")
        self.assertIn("COMPUTE ENVIRONMENT", table.splitlines()[0])
        self.assertEqual(sum(job_id in line for line in table.splitlines()), 2, table)
        self.succeed(job_id)
        self.assertFalse([gpu for gpu in self.gpus()["gpus"] if gpu.get("jobId")], "released at exit")

    def test_the_compute_environment_offers_its_gpus(self):
        code, out, err = self.aws("describe-compute-environments", "--compute-environments", "gpus")
        self.assertEqual(code, 0, err)
        environment = out["computeEnvironments"][0]
        self.assertEqual(environment["status"], "VALID")
        self.assertEqual(environment["tags"].get("docket:executor", "gpu"), "gpu")

    def test_asking_more_gpus_than_the_compute_environment_has_is_explained(self):
        job_id = self.run_job("true", gpus=5)
        time.sleep(1.5)
        job = self.describe_job(job_id)
        self.assertEqual(job["status"], "RUNNABLE")
        self.assertIn("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", job["statusReason"])
        self.assertIn("5 GPU(s)", job["statusReason"])
        self.assertIn("offers 4", job["statusReason"])
        self.batch.terminate_job(jobId=job_id, reason="test over")

    def test_a_gpu_job_sent_to_a_compute_environment_without_gpus_is_explained(self):
        job_id = self.run_job("true", gpus=1, queue="plainq")
        time.sleep(1.5)
        job = self.describe_job(job_id)
        self.assertEqual(job["status"], "RUNNABLE")
        self.assertIn("1 GPU(s)", job["statusReason"])
        self.assertIn("offers 0", job["statusReason"])
        self.batch.terminate_job(jobId=job_id, reason="test over")

    def test_a_gpu_count_of_zero_or_less_is_refused_naming_the_field(self):
        for value in ("0", "-1", "1.5"):
            code, _, err = self.aws("register-job-definition", "--job-definition-name", unique("jd"), "--type", "container",
                                    "--container-properties", json.dumps({"image": IMAGE, "command": ["true"], "resourceRequirements": [
                                        {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}, {"type": "GPU", "value": value}]}))
            self.assertEqual(code, 255)
            self.assertIn(f"containerProperties.resourceRequirements[2].value is '{value}'", err)
            self.assertIn("a GPU value is a whole number, at least 1", err)

    def test_a_static_inventory_with_a_duplicate_uuid_is_refused_naming_the_entry(self):
        gpus = json.dumps([{"uuid": "GPU-1"}, {"uuid": "GPU-2"}, {"uuid": "GPU-1"}])
        code, _, err = self.aws("create-compute-environment", "--compute-environment-name", unique("ce"), "--type", "UNMANAGED",
                                "--tags", json.dumps({"docket:executor": "gpu", "docket:static_gpus": gpus}))
        self.assertEqual(code, 255, err)
        self.assertIn("static_gpus[2].uuid", err)
        self.assertIn("appears twice", err)

    def test_an_unknown_runner_fails_the_attempt_naming_the_variable(self):
        job_id = self.run_job("true", gpus=1, environment={"DOCKET_RUNNER": "slurm"})
        job = self.finish(job_id)
        self.assertEqual(job["status"], "FAILED")
        self.assertIn("DOCKET_RUNNER: 'slurm' is not a runner of this compute environment",
                      job["attempts"][0]["container"].get("reason", ""))
        self.assertFalse([gpu for gpu in self.gpus()["gpus"] if gpu.get("jobId") == job_id], "nothing held")

    def test_a_killed_server_comes_back_with_the_gpus_still_held_by_the_running_job(self):
        first = self.run_job("sleep 5", gpus=2)
        self.wait_for_status(first, "RUNNING", timeout=30)
        held = set(self.held_uuids(self.describe_job(first)))
        self.server.kill_and_restart()
        self.__class__.batch = self.server.client()
        # The re-adopted job still holds its pair, so a new 2-GPU job gets the other one.
        second = self.run_job("sleep 1", gpus=2)
        self.wait_for_status(second, {"RUNNING", "SUCCEEDED"}, timeout=30)
        self.assertFalse(held & set(self.held_uuids(self.describe_job(second))), "the pair still held is not given twice")
        self.assertEqual(sorted(g["uuid"] for g in self.gpus()["gpus"] if g.get("jobId") == first), sorted(held))
        self.succeed(first)
        self.succeed(second)


class RecordedInventoryTests(GPUTestCase):
    """nvidia-smi outputs of a 4-GPU dual-socket PCIe box, in files the executor reads again at
    every refresh; the tests rewrite them to make GPUs disappear and fail."""

    @classmethod
    def setUpClass(cls):
        cls.recording = tempfile.mkdtemp(prefix="docket-gpu-recording-")
        cls.addClassCleanup(shutil.rmtree, cls.recording, True)
        for name in ("query.xml", "topo.txt"):
            shutil.copy(os.path.join(FIXTURES, "pcie-4gpu-dual-socket", name), cls.recording)
        with open(os.path.join(cls.recording, "query.xml")) as f:
            cls.original = f.read()
        cls.server_config = f"""\
compute_environments:
  - name: pcie
    executor: gpu
    settings:
      nvidia_smi_query_file: {cls.recording}/query.xml
      nvidia_smi_topo_file: {cls.recording}/topo.txt
job_queues:
  - {{ name: gq, priority: 1, compute_environments: [pcie] }}
"""
        super().setUpClass()

    def tearDown(self):
        self.write_query(self.original)
        self.wait_for_reason(lambda reason: "drained" not in (reason or ""))

    def write_query(self, text):
        path = os.path.join(self.recording, "query.xml")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def status_reason(self):
        return self.batch.describe_compute_environments(computeEnvironments=["pcie"])["computeEnvironments"][0].get("statusReason")

    def wait_for_reason(self, accept, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reason = self.status_reason()
            if accept(reason):
                return reason
            time.sleep(0.3)
        self.fail(f"the compute environment's statusReason is still {self.status_reason()!r}")

    def test_the_recording_is_the_inventory(self):
        listed = self.gpus()["pcie"]
        self.assertEqual([gpu["uuid"] for gpu in listed], PCIE_UUIDS)
        self.assertEqual([gpu["numaNode"] for gpu in listed], [0, 0, 1, 1])
        self.assertEqual({gpu["model"] for gpu in listed}, {"NVIDIA RTX A6000"})

    def test_two_gpus_share_a_pcie_switch_never_cross_the_sockets(self):
        job_id = self.run_job("true", gpus=2)
        held = self.held_uuids(self.succeed(job_id))
        self.assertIn(sorted(held), [sorted(PCIE_UUIDS[:2]), sorted(PCIE_UUIDS[2:])])

    def test_pinning_keeps_the_recorded_cpus_this_machine_has(self):
        # The four GPUs' CPUs are 0-63 on NUMA nodes 0 and 1; this machine pins what it has of them.
        job_id = self.run_job("grep Cpus_allowed_list /proc/self/status", gpus=4)
        self.succeed(job_id)
        nodes = online_nodes()
        expected_cpus = cpu_list([c for c in online_cpus() if c <= 63])
        expected_nodes = cpu_list([n for n in nodes if n <= 1])
        log = self.log(job_id)
        self.assertIn(f"CPUs {expected_cpus} and memory on NUMA node {expected_nodes}", log)
        self.assertRegex(log, rf"Cpus_allowed_list:\s+{re.escape(expected_cpus)}\n")

    def test_a_gpu_that_disappears_is_drained_and_comes_back_when_listed_again(self):
        self.write_query(re.sub(r'\t<gpu id="00000000:B2:00.0">.*?\t</gpu>\n', "", self.original, flags=re.S))
        reason = self.wait_for_reason(lambda r: r is not None and "drained" in r)
        self.assertIn(f"GPU 3 ({PCIE_UUIDS[3]}) drained: it disappeared", reason)
        listed = {gpu["uuid"]: gpu for gpu in self.gpus()["pcie"]}
        self.assertEqual(listed[PCIE_UUIDS[3]]["health"], "DRAINED")
        self.assertEqual(listed[PCIE_UUIDS[0]]["health"], "HEALTHY")
        self.assertEqual(self.batch.describe_compute_environments(computeEnvironments=["pcie"])["computeEnvironments"][0]["status"], "VALID")
        self.assertIn("DRAINED: it disappeared", self.docket("gpus"))
        # Four GPUs cannot be had while one is drained; the job waits and runs once it is back.
        job_id = self.run_job("true", gpus=4)
        time.sleep(6)
        waiting = self.describe_job(job_id)
        self.assertEqual(waiting["status"], "RUNNABLE", waiting.get("statusReason"))
        self.write_query(self.original)
        self.wait_for_reason(lambda r: "drained" not in (r or ""))
        self.assertEqual(sorted(self.held_uuids(self.succeed(job_id))), sorted(PCIE_UUIDS))

    def test_a_gpu_reporting_a_fatal_error_is_drained_and_never_given_out(self):
        blocks = re.split(r"(?=\t<gpu id=)", self.original)
        index = next(i for i, block in enumerate(blocks) if PCIE_UUIDS[1] in block)
        blocks[index] = blocks[index].replace("<remapped_row_failure>No</remapped_row_failure>",
                                              "<remapped_row_failure>Yes</remapped_row_failure>")
        self.write_query("".join(blocks))
        reason = self.wait_for_reason(lambda r: r is not None and "drained" in r)
        self.assertIn(f"GPU 1 ({PCIE_UUIDS[1]}) drained:", reason)
        jobs = [self.run_job("sleep 1", gpus=1) for _ in range(4)]
        held = [self.held_uuids(self.succeed(job_id)) for job_id in jobs]
        self.assertNotIn([PCIE_UUIDS[1]], held, "the failed GPU is never given out")
