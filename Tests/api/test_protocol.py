"""The wire protocol under bad input, over raw HTTP: malformed JSON, unknown operations and
paths, a body over the size limit, the wrong content: always a 4xx in AWS's error shape
(status, x-amzn-ErrorType header, JSON body with a message), never a 5xx, never a crash.
Also: SageMaker service environments and service jobs are refused with a clear ClientException."""

import json
import unittest

from botocore.exceptions import ClientError

from Tests.api.docket_server import ServerTestCase, unique

ONE_MIB = 1 << 20


class ProtocolTests(ServerTestCase):
    def post(self, path, body, headers=None):
        return self.server.http("POST", path, body, headers)

    def assertAWSError(self, answer, status=400, code="ClientException"):
        """AWS's REST-JSON error shape: the status, the x-amzn-ErrorType header, a JSON body with a message."""
        got_status, headers, body = answer
        self.assertEqual(got_status, status, body[:300])
        self.assertEqual(headers.get("x-amzn-errortype", "").split(":")[0], code, headers)
        self.assertIn("application/json", headers.get("content-type", ""))
        parsed = json.loads(body)
        self.assertIsInstance(parsed.get("message"), str)
        self.assertTrue(parsed["message"], "the message is not empty")
        return parsed["message"]

    def assertStillServing(self):
        self.assertTrue(self.server.is_running(), "the server process is still alive")
        self.assertIn("default", [q["jobQueueName"] for q in self.batch.describe_job_queues()["jobQueues"]])

    def test_malformed_json_is_a_client_exception(self):
        for body in ["{not json", '{"jobName": ', '{"a": 1,}', "{'single': 'quotes'}", "nul", '{"a": "\\x"}']:
            with self.subTest(body=body):
                message = self.assertAWSError(self.post("/v1/submitjob", body))
                self.assertIn("JSON", message)
        self.assertStillServing()

    def test_json_that_is_not_an_object_is_a_client_exception(self):
        for body in ["[]", '"text"', "42", "true", "null"]:
            with self.subTest(body=body):
                self.assertAWSError(self.post("/v1/describejobqueues", body))
        self.assertStillServing()

    def test_bytes_that_are_not_utf8_are_a_client_exception(self):
        # JSON text is UTF-8 (RFC 8259); anything else is malformed input.
        self.assertAWSError(self.post("/v1/describejobqueues", b'{"jobQueues": ["\xff\xfe"]}'))
        self.assertAWSError(self.post("/v1/describejobqueues", b"\x00\x01\x02\x03"))
        self.assertStillServing()

    def test_deeply_nested_json_is_refused_not_a_crash(self):
        body = '{"x": ' + "[" * 100000 + "]" * 100000 + "}"
        self.assertAWSError(self.post("/v1/describejobqueues", body))
        self.assertStillServing()

    def test_wrong_member_types_in_a_raw_body_are_a_client_exception(self):
        message = self.assertAWSError(self.post("/v1/describejobqueues", '{"jobQueues": "default"}'))
        self.assertIn("jobQueues", message)
        message = self.assertAWSError(self.post("/v1/createjobqueue", '{"jobQueueName": "q", "priority": "high"}'))
        self.assertIn("priority", message)

    def test_unknown_operation_is_a_4xx_in_aws_shape(self):
        status, headers, body = self.post("/v1/launchrockets", "{}")
        self.assertTrue(400 <= status < 500, status)
        message = self.assertAWSError((status, headers, body), status=status)
        self.assertIn("launchrockets", message)
        self.assertStillServing()

    def test_unknown_paths_and_methods_are_4xx(self):
        for method, path in [("GET", "/"), ("GET", "/v1/describejobqueues"), ("POST", "/v2/submitjob"),
                             ("PUT", "/v1/tags/arn:aws:batch:local:000000000000:job-queue/default"),
                             ("DELETE", "/v1/submitjob"), ("POST", "/v1/"), ("POST", "/v1/../v1/submitjob")]:
            with self.subTest(method=method, path=path):
                status, headers, body = self.server.http(method, path, "{}" if method in ("POST", "PUT") else None)
                self.assertTrue(400 <= status < 500, f"{method} {path}: {status} {body[:200]}")
                self.assertIn("x-amzn-errortype", headers)
        self.assertStillServing()

    def test_a_body_over_the_size_limit_is_a_4xx(self):
        body = '{"jobQueues": ["' + "a" * (2 * ONE_MIB) + '"]}'
        try:
            status, headers, _ = self.post("/v1/describejobqueues", body)
        except (BrokenPipeError, ConnectionResetError):
            self.fail("the server closed the connection instead of answering 413")
        self.assertTrue(400 <= status < 500, status)
        self.assertEqual(status, 413)
        self.assertStillServing()

    def test_a_body_under_the_size_limit_is_read(self):
        body = '{"jobQueues": ["default"]' + " " * (ONE_MIB - 100) + "}"
        status, _, answer = self.post("/v1/describejobqueues", body)
        self.assertEqual(status, 200, answer[:300])
        self.assertEqual([q["jobQueueName"] for q in json.loads(answer)["jobQueues"]], ["default"])

    def test_empty_body_means_no_members(self):
        status, _, answer = self.post("/v1/describecomputeenvironments", "")
        self.assertEqual(status, 200, answer[:300])
        message = self.assertAWSError(self.post("/v1/submitjob", ""))
        self.assertIn("is required", message)

    def test_content_type_other_than_json_is_never_a_5xx(self):
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/x-amz-json-1.1"]:
            with self.subTest(content_type=content_type):
                status, _, _ = self.post("/v1/describejobqueues", "{}", {"Content-Type": content_type})
                self.assertLess(status, 500)
        status, headers, body = self.post("/v1/describejobqueues", "jobQueues=default",
                                          {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertAWSError((status, headers, body))

    def test_members_the_model_does_not_know_are_ignored(self):
        status, _, answer = self.post("/v1/describejobqueues", '{"jobQueues": ["default"], "futureMember": {"x": 1}}')
        self.assertEqual(status, 200, answer[:300])

    def test_errors_reach_boto3_and_the_cli_as_client_exceptions(self):
        with self.assertRaises(ClientError) as caught:
            self.batch.describe_consumable_resource(consumableResource=unique("ghost"))
        response = caught.exception.response
        self.assertEqual(response["Error"]["Code"], "ClientException")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"], "ClientException")
        self.assertIsInstance(caught.exception, self.batch.exceptions.ClientException, "botocore maps it to the modeled exception")
        self.assertCLIError(self.aws("describe-consumable-resource", "--consumable-resource", unique("ghost")),
                            operation="DescribeConsumableResource")


class ServiceEnvironmentRefusalTests(ServerTestCase):
    """Docket does not run SageMaker service environments or service jobs: each of their
    operations answers a ClientException that says so, and nothing is stored."""

    def assertRefused(self, call):
        message = self.assertClientError(call)
        self.assertIn("Docket", message)
        self.assertTrue("service environment" in message.lower() or "service job" in message.lower(), message)

    def test_every_service_environment_and_service_job_operation_is_refused(self):
        calls = {
            "CreateServiceEnvironment": lambda: self.batch.create_service_environment(
                serviceEnvironmentName=unique("se"), serviceEnvironmentType="SAGEMAKER_TRAINING",
                capacityLimits=[{"maxCapacity": 1, "capacityUnit": "NUM_INSTANCES"}]),
            "DescribeServiceEnvironments": lambda: self.batch.describe_service_environments(),
            "UpdateServiceEnvironment": lambda: self.batch.update_service_environment(serviceEnvironment="se", state="DISABLED"),
            "DeleteServiceEnvironment": lambda: self.batch.delete_service_environment(serviceEnvironment="se"),
            "SubmitServiceJob": lambda: self.batch.submit_service_job(
                jobName="j", jobQueue="default", serviceRequestPayload="{}", serviceJobType="SAGEMAKER_TRAINING"),
            "DescribeServiceJob": lambda: self.batch.describe_service_job(jobId="00000000-0000-0000-0000-000000000000"),
            "ListServiceJobs": lambda: self.batch.list_service_jobs(jobQueue="default"),
            "TerminateServiceJob": lambda: self.batch.terminate_service_job(jobId="00000000-0000-0000-0000-000000000000", reason="x"),
            "UpdateServiceJob": lambda: self.batch.update_service_job(jobId="00000000-0000-0000-0000-000000000000", schedulingPriority=1),
        }
        for operation, call in calls.items():
            with self.subTest(operation=operation):
                self.assertRefused(call)

    def test_the_cli_exits_with_the_service_error(self):
        name = unique("se")
        err = self.assertCLIError(self.aws("create-service-environment", "--service-environment-name", name,
                                           "--service-environment-type", "SAGEMAKER_TRAINING",
                                           "--capacity-limits", "maxCapacity=1,capacityUnit=NUM_INSTANCES"),
                                  operation="CreateServiceEnvironment")
        self.assertIn("Docket", err)

    def test_a_queue_on_service_environments_is_refused(self):
        name = unique("jq")
        message = self.assertClientError(lambda: self.batch.create_job_queue(
            jobQueueName=name, priority=1, jobQueueType="SAGEMAKER_TRAINING",
            serviceEnvironmentOrder=[{"order": 1, "serviceEnvironment": "se"}]))
        self.assertIn("serviceEnvironment", message)
        self.assertEqual(self.batch.describe_job_queues(jobQueues=[name])["jobQueues"], [])


if __name__ == "__main__":
    unittest.main()
