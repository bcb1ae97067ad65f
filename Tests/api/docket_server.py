"""A real `docket server` for the API tests, and the clients that drive it.

`DocketServer` starts `.build/debug/docket server` (or $DOCKET_BINARY) on a free loopback port
with its own data directory, waits for its ready line, and stops it with SIGTERM. It hands out
the three ways AWS users reach AWS Batch: boto3 (with and without botocore's client-side
parameter validation), the real `aws` CLI (awscli 1.x from PyPI), and raw HTTP for bodies no
SDK would send.

When $DOCKET_OPERATION_LOG_DIR is set, each server logs every answered operation to its own
file in that directory (DOCKET_OPERATION_LOG), so the conformance report can count which
operations the suite exercised.
"""

import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = "local"
ACCOUNT = "000000000000"
ARN_PREFIX = f"arn:aws:batch:{REGION}:{ACCOUNT}"

# awscli 1.x exits 255 for any error the service answered (awscli 2.x would exit 254).
CLI_SERVICE_ERROR = 255


def binary_path():
    path = os.environ.get("DOCKET_BINARY", os.path.join(REPO_ROOT, ".build", "debug", "docket"))
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def unique(prefix="t"):
    """A name no other test uses: letters, digits and hyphens, starting with a letter."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def arn(kind, name):
    return f"{ARN_PREFIX}:{kind}/{name}"


class DocketServer:
    """One `docket server` process; use as a context manager or call start() and stop()."""

    def __init__(self, config=None):
        self.config = config
        self.process = None
        self.endpoint = None
        self.host = None
        self.port = None
        self._tmp = None
        self._drainer = None

    def start(self):
        binary = binary_path()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is missing; run `swift build` first (or set DOCKET_BINARY)")
        self._tmp = tempfile.mkdtemp(prefix="docket-api-")
        os.makedirs(os.path.join(self._tmp, "data"))
        return self._launch()

    def kill_and_restart(self):
        """SIGKILLs the server (no shutdown at all) and starts a new one on the same data directory
        and configuration, as a machine that lost its server process would; returns self."""
        self.process.kill()
        self.process.wait()
        if self._drainer is not None:
            self._drainer.join(timeout=5)
            self._drainer = None
        self.process.stdout.close()
        return self._launch()

    def _launch(self):
        binary = binary_path()
        data_dir = os.path.join(self._tmp, "data")
        args = [binary, "server", "--data-dir", data_dir, "--listen", "127.0.0.1:0"]
        if self.config is not None:
            config_path = os.path.join(self._tmp, "docket.yaml")
            with open(config_path, "w") as f:
                f.write(self.config)
            args += ["--config", config_path]
        env = dict(os.environ)
        log_dir = os.environ.get("DOCKET_OPERATION_LOG_DIR")
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
            env["DOCKET_OPERATION_LOG"] = os.path.join(log_dir, f"api-{os.getpid()}-{uuid.uuid4().hex}.tsv")
        stderr = None if os.environ.get("DOCKET_TEST_SERVER_LOG") else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=self._tmp)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self, timeout=30):
        """Reads stdout until the line `docket server ready on http://HOST:PORT ...`."""
        deadline = time.monotonic() + timeout
        seen = b""
        fd = self.process.stdout.fileno()
        marker = "ready on http://"
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                if self.process.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            for line in seen.decode("utf-8", "replace").splitlines(keepends=True):
                if marker in line and line.endswith("\n"):
                    address = line.split(marker, 1)[1].split()[0]
                    self.host, port = address.rsplit(":", 1)
                    self.port = int(port)
                    self.endpoint = f"http://{self.host}:{self.port}"
                    # Keep draining stdout so the server never blocks on a full pipe.
                    self._drainer = threading.Thread(target=self._drain, daemon=True)
                    self._drainer.start()
                    return
        status = self.process.poll()
        self.stop()
        raise RuntimeError(f"docket server printed no ready line within {timeout}s (exit status {status}): "
                           f"{seen.decode('utf-8', 'replace')!r}; set DOCKET_TEST_SERVER_LOG=1 to see its log")

    def _drain(self):
        stream = self.process.stdout if self.process else None
        try:
            while stream is not None and stream.read(4096):
                pass
        except (OSError, ValueError):
            pass

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            if self._drainer is not None:
                self._drainer.join(timeout=5)
                self._drainer = None
            self.process.stdout.close()
        self.process = None
        if self._tmp is not None:
            # Attempts outlive a stopped server by design (they are re-adopted at the next
            # start), so files may still change while they are removed.
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def is_running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def data_dir(self):
        """The server's --data-dir (logs/<attemptId>.log, executors/<ce>/, ...); None when stopped."""
        return os.path.join(self._tmp, "data") if self._tmp is not None else None

    # ---- clients -------------------------------------------------------------------------

    def client(self, validate=True):
        """boto3's batch client; validate=False sends what botocore would refuse client-side."""
        config = Config(parameter_validation=validate, retries={"max_attempts": 1, "mode": "standard"},
                        connect_timeout=5, read_timeout=30)
        return boto3.session.Session().client(
            "batch", region_name=REGION, endpoint_url=self.endpoint,
            aws_access_key_id="docket", aws_secret_access_key="docket", config=config)

    def aws(self, *args, timeout=60):
        """Runs `aws batch ARGS...` against this server: (exit code, parsed stdout JSON or None, stderr)."""
        if shutil.which("aws") is None:
            raise RuntimeError("the aws CLI is missing; install it with `python3 -m pip install awscli` (scripts/test.sh does)")
        env = dict(os.environ)
        env.update({
            # The user's own ~/.aws files must not change what the tests see.
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "docket", "AWS_SECRET_ACCESS_KEY": "docket",
            "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1",
        })
        env.pop("AWS_PROFILE", None)
        command = ["aws", "batch", *[str(a) for a in args], "--endpoint-url", self.endpoint,
                   "--region", REGION, "--output", "json"]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        parsed = None
        if done.stdout.strip():
            try:
                parsed = json.loads(done.stdout)
            except ValueError:
                parsed = None
        return done.returncode, parsed, done.stderr

    def http(self, method, path, body=None, headers=None, timeout=30):
        """One raw HTTP request: (status, headers dict with lower-case names, body bytes)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            all_headers = {"Content-Type": "application/json"}
            all_headers.update(headers or {})
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()


class ServerTestCase(unittest.TestCase):
    """One server per test class; clients and helpers shared by the tests of the class."""

    server_config = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = DocketServer(config=cls.server_config).start()
        # A class cleanup runs even when a subclass's setUpClass fails after this point.
        cls.addClassCleanup(cls.server.stop)
        cls.batch = cls.server.client()
        cls.raw = cls.server.client(validate=False)

    def aws(self, *args):
        return self.server.aws(*args)

    # ---- assertions ------------------------------------------------------------------------

    def assertCLIOk(self, result):
        code, out, err = result
        self.assertEqual(code, 0, f"aws exited {code}: {err}")
        return out if out is not None else {}

    def assertCLIError(self, result, *fragments, code="ClientException", operation=None):
        """The CLI failed as it does for a service error: exit 255 and `An error occurred (CODE)`."""
        exit_code, out, err = result
        self.assertEqual(exit_code, CLI_SERVICE_ERROR, f"expected exit {CLI_SERVICE_ERROR}, got {exit_code}; stdout {out}; stderr {err}")
        self.assertIn(f"An error occurred ({code})", err)
        if operation:
            self.assertIn(f"when calling the {operation} operation", err)
        for fragment in fragments:
            self.assertIn(fragment, err, f"the message should name {fragment!r}")
        return err

    def assertClientError(self, call, *fragments, code="ClientException", status=400):
        """A boto3 call fails with CODE (HTTP STATUS) and a message containing every fragment."""
        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], code, error)
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], status, error)
        message = error["Error"].get("Message", "")
        self.assertTrue(message, "the error carries a message")
        for fragment in fragments:
            self.assertIn(fragment, message, f"the message should name {fragment!r}")
        return message

    # ---- shared builders -------------------------------------------------------------------

    def create_ce(self, name=None, state="ENABLED", tags=None, **extra):
        name = name or unique("ce")
        all_tags = {"docket:executor": "process"}
        all_tags.update(tags or {})
        self.batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED", state=state,
                                              tags=all_tags, **extra)
        return name

    def create_queue(self, name=None, ces=None, state="ENABLED", priority=1, **extra):
        name = name or unique("jq")
        if ces is None:
            ces = [self.create_ce(state="DISABLED")]
        order = [{"order": i + 1, "computeEnvironment": ce} for i, ce in enumerate(ces)]
        self.batch.create_job_queue(jobQueueName=name, state=state, priority=priority,
                                    computeEnvironmentOrder=order, **extra)
        return name

    def held_queue(self):
        """A queue whose only compute environment is DISABLED: its jobs stay RUNNABLE."""
        return self.create_queue(ces=[self.create_ce(state="DISABLED")])

    def register(self, name=None, command=None, **extra):
        name = name or unique("jd")
        props = {"image": "busybox", "command": command or ["true"],
                 "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}
        out = self.batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props, **extra)
        return out

    def submit(self, queue, name=None, definition="default", **extra):
        name = name or unique("job")
        extra.setdefault("containerOverrides", {"command": ["true"]})
        return self.batch.submit_job(jobName=name, jobQueue=queue, jobDefinition=definition, **extra)

    def describe_job(self, job_id):
        jobs = self.batch.describe_jobs(jobs=[job_id])["jobs"]
        self.assertEqual(len(jobs), 1, f"job {job_id} described once")
        return jobs[0]

    def wait_for_status(self, job_id, wanted, timeout=30):
        wanted = {wanted} if isinstance(wanted, str) else set(wanted)
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            job = self.describe_job(job_id)
            if job["status"] in wanted:
                return job
            time.sleep(0.1)
        self.fail(f"job {job_id} did not reach {sorted(wanted)} in {timeout}s; last status {job and job['status']}: {job and job.get('statusReason')}")
