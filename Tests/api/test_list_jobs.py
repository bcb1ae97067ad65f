"""ListJobs through the real aws CLI and boto3: the default status, jobStatus, pagination with
maxResults and nextToken (by hand, with boto3's paginator and with the CLI's own paging), every
filter (JOB_NAME with and without a trailing wildcard, JOB_DEFINITION, BEFORE_CREATED_AT,
AFTER_CREATED_AT, SHARE_IDENTIFIER), arrayJobId, and the refusals."""

import time
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique


class ListJobsTests(ServerTestCase):
    """One held queue (its only compute environment is DISABLED, so jobs stay RUNNABLE) with a
    known set of jobs, created once for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        batch = cls.batch
        cls.ce = unique("ce")
        batch.create_compute_environment(computeEnvironmentName=cls.ce, type="UNMANAGED", state="DISABLED",
                                         tags={"docket:executor": "process"})
        cls.queue = unique("jq")
        batch.create_job_queue(jobQueueName=cls.queue, priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": cls.ce}])

        props = {"image": "busybox", "command": ["true"],
                 "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}
        cls.definition = unique("def")
        cls.other_definition = cls.definition + "x"
        for name in (cls.definition, cls.definition, cls.other_definition):
            batch.register_job_definition(jobDefinitionName=name, type="container", containerProperties=props)

        def submit(name, definition):
            job = batch.submit_job(jobName=name, jobQueue=cls.queue, jobDefinition=definition,
                                   containerOverrides={"command": ["true"]})
            time.sleep(0.01)  # distinct createdAt milliseconds, so the time filters have clean edges
            return job["jobId"]

        # (name, definition reference) in submission order.
        plan = [("alpha-1", f"{cls.definition}:1"), ("ALPHA-1", f"{cls.definition}:2"), ("alpha-10", f"{cls.definition}:1"),
                ("alpha-2", cls.other_definition), ("beta-1", f"{cls.definition}:2"), ("gamma", cls.other_definition),
                ("alpha-cancelled", f"{cls.definition}:1")]
        cls.jobs = [(name, submit(name, definition)) for name, definition in plan]
        cls.ids = {name: job_id for name, job_id in cls.jobs}
        batch.cancel_job(jobId=cls.ids["alpha-cancelled"], reason="listed as FAILED")

        described = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            described = {j["jobId"]: j for j in batch.describe_jobs(jobs=list(cls.ids.values()))["jobs"]}
            statuses = {j["status"] for i, j in described.items() if i != cls.ids["alpha-cancelled"]}
            if statuses == {"RUNNABLE"} and described[cls.ids["alpha-cancelled"]]["status"] == "FAILED":
                break
            time.sleep(0.1)
        cls.created = {job_id: job["createdAt"] for job_id, job in described.items()}
        cls.runnable = {job_id for name, job_id in cls.jobs if name != "alpha-cancelled"}

    def list_ids(self, **kwargs):
        return [j["jobId"] for j in self.batch.list_jobs(jobQueue=self.queue, **kwargs)["jobSummaryList"]]

    def by_name(self, value, **kwargs):
        return self.list_ids(filters=[{"name": "JOB_NAME", "values": [value]}], **kwargs)

    def ids_of(self, *names):
        return {self.ids[n] for n in names}

    # ---- status -----------------------------------------------------------------------------

    def test_without_job_status_only_running_jobs_are_listed(self):
        self.assertEqual(self.list_ids(), [], "AWS: if you don't specify a status, only RUNNING jobs are returned")

    def test_job_status_selects_jobs_in_that_status(self):
        self.assertEqual(set(self.list_ids(jobStatus="RUNNABLE")), self.runnable)
        self.assertEqual(self.list_ids(jobStatus="FAILED"), [self.ids["alpha-cancelled"]])
        self.assertEqual(self.list_ids(jobStatus="SUCCEEDED"), [])

    def test_summaries_carry_aws_members(self):
        [summary] = [s for s in self.batch.list_jobs(jobQueue=arn("job-queue", self.queue), jobStatus="FAILED")["jobSummaryList"]]
        self.assertEqual(summary["jobId"], self.ids["alpha-cancelled"])
        self.assertEqual(summary["jobArn"], arn("job", self.ids["alpha-cancelled"]))
        self.assertEqual(summary["jobName"], "alpha-cancelled")
        self.assertEqual(summary["status"], "FAILED")
        self.assertEqual(summary["createdAt"], self.created[self.ids["alpha-cancelled"]])
        self.assertEqual(summary["jobDefinition"], arn("job-definition", f"{self.definition}:1"))

    # ---- pagination -------------------------------------------------------------------------

    def test_max_results_and_next_token_page_through_every_job_once(self):
        seen, token, sizes = [], None, []
        for _ in range(20):
            page = self.batch.list_jobs(jobQueue=self.queue, jobStatus="RUNNABLE", maxResults=2,
                                        **({"nextToken": token} if token else {}))
            sizes.append(len(page["jobSummaryList"]))
            seen += [j["jobId"] for j in page["jobSummaryList"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertIsNone(token)
        self.assertEqual(sizes, [2, 2, 2], "six RUNNABLE jobs in pages of two")
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), self.runnable)

    def test_filtered_lists_paginate_too(self):
        seen, token = [], None
        for _ in range(20):
            page = self.batch.list_jobs(jobQueue=self.queue, filters=[{"name": "JOB_NAME", "values": ["alpha*"]}], maxResults=1,
                                        **({"nextToken": token} if token else {}))
            self.assertLessEqual(len(page["jobSummaryList"]), 1)
            seen += [j["jobId"] for j in page["jobSummaryList"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(set(seen), self.ids_of("alpha-1", "ALPHA-1", "alpha-10", "alpha-2", "alpha-cancelled"))
        self.assertEqual(len(seen), len(set(seen)))

    def test_boto3_paginator_walks_every_page(self):
        paginator = self.batch.get_paginator("list_jobs")
        pages = list(paginator.paginate(jobQueue=self.queue, jobStatus="RUNNABLE", PaginationConfig={"PageSize": 4}))
        self.assertEqual([len(p["jobSummaryList"]) for p in pages], [4, 2])
        self.assertEqual({j["jobId"] for p in pages for j in p["jobSummaryList"]}, self.runnable)

        first = paginator.paginate(jobQueue=self.queue, jobStatus="RUNNABLE",
                                   PaginationConfig={"MaxItems": 4, "PageSize": 3}).build_full_result()
        self.assertEqual(len(first["jobSummaryList"]), 4)
        rest = paginator.paginate(jobQueue=self.queue, jobStatus="RUNNABLE",
                                  PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 3}).build_full_result()
        self.assertEqual({j["jobId"] for j in first["jobSummaryList"] + rest["jobSummaryList"]}, self.runnable)

    def test_cli_pages_with_page_size_max_items_and_starting_token(self):
        everything = self.assertCLIOk(self.aws("list-jobs", "--job-queue", self.queue, "--job-status", "RUNNABLE", "--page-size", "2"))
        self.assertEqual({j["jobId"] for j in everything["jobSummaryList"]}, self.runnable)

        first = self.assertCLIOk(self.aws("list-jobs", "--job-queue", self.queue, "--job-status", "RUNNABLE",
                                          "--max-items", "4", "--page-size", "3"))
        self.assertEqual(len(first["jobSummaryList"]), 4)
        self.assertIn("NextToken", first)
        rest = self.assertCLIOk(self.aws("list-jobs", "--job-queue", self.queue, "--job-status", "RUNNABLE",
                                         "--starting-token", first["NextToken"], "--page-size", "3"))
        ids = [j["jobId"] for j in first["jobSummaryList"] + rest["jobSummaryList"]]
        self.assertEqual(sorted(ids), sorted(self.runnable))

    def test_a_token_from_elsewhere_is_refused(self):
        # Guess: AWS treats nextToken as opaque and does not document a bad one; a user expects
        # to be told, not to get a silent first page.
        self.assertClientError(lambda: self.batch.list_jobs(jobQueue=self.queue, jobStatus="RUNNABLE", nextToken="not-a-token"),
                               "nextToken")

    # ---- JOB_NAME ---------------------------------------------------------------------------

    def test_job_name_matches_case_insensitively(self):
        self.assertEqual(set(self.by_name("Alpha-1")), self.ids_of("alpha-1", "ALPHA-1"))
        self.assertEqual(self.by_name("gamma"), [self.ids["gamma"]])
        self.assertEqual(self.by_name("alpha"), [], "without a wildcard the whole name must match")

    def test_job_name_with_trailing_wildcard_matches_the_prefix(self):
        self.assertEqual(set(self.by_name("alpha-1*")), self.ids_of("alpha-1", "ALPHA-1", "alpha-10"))
        self.assertEqual(set(self.by_name("ALPHA*")), self.ids_of("alpha-1", "ALPHA-1", "alpha-10", "alpha-2", "alpha-cancelled"))

    def test_filters_ignore_job_status_and_list_newest_first(self):
        # AWS: "When the filter is used, jobStatus is ignored"; "sorted by the createdAt field,
        # with the most recent jobs being first".
        listed = self.by_name("alpha*", jobStatus="RUNNABLE")
        self.assertIn(self.ids["alpha-cancelled"], listed, "the FAILED job is listed despite jobStatus RUNNABLE")
        created = [self.created[i] for i in listed]
        self.assertEqual(created, sorted(created, reverse=True))

    # ---- JOB_DEFINITION ---------------------------------------------------------------------

    def test_job_definition_by_name_matches_every_revision(self):
        listed = self.list_ids(filters=[{"name": "JOB_DEFINITION", "values": [self.definition]}])
        self.assertEqual(set(listed), self.ids_of("alpha-1", "ALPHA-1", "alpha-10", "beta-1", "alpha-cancelled"))

    def test_job_definition_with_trailing_wildcard_matches_the_prefix(self):
        listed = self.list_ids(filters=[{"name": "JOB_DEFINITION", "values": [self.definition + "*"]}])
        self.assertEqual(set(listed), set(self.ids.values()))

    def test_job_definition_by_arn_matches_that_revision_only(self):
        listed = self.list_ids(filters=[{"name": "JOB_DEFINITION", "values": [arn("job-definition", f"{self.definition}:2")]}])
        self.assertEqual(set(listed), self.ids_of("ALPHA-1", "beta-1"))

    # ---- createdAt --------------------------------------------------------------------------

    def test_before_and_after_created_at(self):
        ordered = [job_id for _, job_id in self.jobs]
        pivot = self.created[self.ids["alpha-2"]]
        before = self.list_ids(filters=[{"name": "BEFORE_CREATED_AT", "values": [str(pivot)]}])
        after = self.list_ids(filters=[{"name": "AFTER_CREATED_AT", "values": [str(pivot)]}])
        index = ordered.index(self.ids["alpha-2"])
        # Jobs strictly before / after the pivot; the pivot job itself may fall on either side.
        self.assertTrue(set(ordered[:index]) <= set(before) <= set(ordered[:index + 1]), before)
        self.assertTrue(set(ordered[index + 1:]) <= set(after) <= set(ordered[index:]), after)
        everything = self.list_ids(filters=[{"name": "AFTER_CREATED_AT", "values": [str(min(self.created.values()) - 1000)]}])
        self.assertEqual(set(everything), set(ordered))
        self.assertEqual(self.list_ids(filters=[{"name": "BEFORE_CREATED_AT", "values": [str(min(self.created.values()) - 1000)]}]), [])

    def test_created_at_through_the_cli(self):
        pivot = self.created[self.ids["beta-1"]]
        out = self.assertCLIOk(self.aws("list-jobs", "--job-queue", self.queue,
                                        "--filters", f"name=AFTER_CREATED_AT,values={pivot}"))
        listed = {j["jobId"] for j in out["jobSummaryList"]}
        self.assertTrue(self.ids_of("gamma", "alpha-cancelled") <= listed <= self.ids_of("beta-1", "gamma", "alpha-cancelled"))

    def test_created_at_that_is_not_a_number_is_refused(self):
        self.assertCLIError(self.aws("list-jobs", "--job-queue", self.queue, "--filters", "name=BEFORE_CREATED_AT,values=yesterday"),
                            "BEFORE_CREATED_AT", operation="ListJobs")

    # ---- refusals ---------------------------------------------------------------------------

    def test_more_than_one_filter_is_refused(self):
        self.assertClientError(lambda: self.batch.list_jobs(jobQueue=self.queue, filters=[
            {"name": "JOB_NAME", "values": ["alpha*"]}, {"name": "JOB_DEFINITION", "values": [self.definition]}]), "filters")

    def test_unknown_filter_name_is_refused(self):
        self.assertCLIError(self.aws("list-jobs", "--job-queue", self.queue, "--filters", "name=COLOR,values=blue"),
                            "COLOR", operation="ListJobs")

    def test_exactly_one_of_queue_array_and_multinode_parent_is_required(self):
        self.assertClientError(lambda: self.batch.list_jobs(jobStatus="RUNNABLE"), "jobQueue")
        self.assertClientError(lambda: self.batch.list_jobs(jobQueue=self.queue, arrayJobId=self.ids["gamma"]), "arrayJobId")

    def test_max_results_below_one_is_refused(self):
        self.assertClientError(lambda: self.batch.list_jobs(jobQueue=self.queue, jobStatus="RUNNABLE", maxResults=0), "maxResults")

    def test_unknown_queue_is_refused(self):
        # Guess: the documentation does not say; a user expects a typo in the queue name to be
        # reported rather than answered with an empty list.
        ghost = unique("ghost")
        self.assertClientError(lambda: self.batch.list_jobs(jobQueue=ghost), ghost)


class ShareIdentifierFilterTests(ServerTestCase):
    def test_share_identifier_filter_combines_with_job_status(self):
        policy = self.batch.create_scheduling_policy(name=unique("fs"), fairsharePolicy={"shareDecaySeconds": 0})["arn"]
        queue = self.create_queue(schedulingPolicyArn=policy)
        a1 = self.submit(queue, shareIdentifier="teamA")["jobId"]
        a2 = self.submit(queue, shareIdentifier="teamA")["jobId"]
        self.submit(queue, shareIdentifier="teamB")
        self.wait_for_status(a2, "RUNNABLE")
        self.batch.cancel_job(jobId=a1, reason="x")
        self.wait_for_status(a1, "FAILED")
        listed = self.batch.list_jobs(jobQueue=queue, jobStatus="RUNNABLE",
                                      filters=[{"name": "SHARE_IDENTIFIER", "values": ["teamA"]}])["jobSummaryList"]
        self.assertEqual([j["jobId"] for j in listed], [a2])
        self.assertEqual(listed[0]["shareIdentifier"], "teamA")


class ArrayJobIdTests(ServerTestCase):
    def test_array_children_are_listed_by_array_job_id(self):
        queue = self.held_queue()
        parent = self.submit(queue, arrayProperties={"size": 3})["jobId"]
        children = [f"{parent}:{i}" for i in range(3)]
        for child in children:
            self.wait_for_status(child, "RUNNABLE")
        listed = self.batch.list_jobs(arrayJobId=parent, jobStatus="RUNNABLE")["jobSummaryList"]
        self.assertEqual(sorted(j["jobId"] for j in listed), children)
        self.assertEqual(sorted(j["arrayProperties"]["index"] for j in listed), [0, 1, 2])
        paged = [j["jobId"] for page in self.batch.get_paginator("list_jobs").paginate(
            arrayJobId=parent, jobStatus="RUNNABLE", PaginationConfig={"PageSize": 2}) for j in page["jobSummaryList"]]
        self.assertEqual(sorted(paged), children)

        out = self.assertCLIOk(self.aws("list-jobs", "--array-job-id", parent, "--job-status", "RUNNABLE"))
        self.assertEqual(sorted(j["jobId"] for j in out["jobSummaryList"]), children)

        [described] = self.batch.describe_jobs(jobs=[parent])["jobs"]
        self.assertEqual(described["arrayProperties"]["size"], 3)
        self.assertEqual(self.describe_job(children[1])["arrayProperties"]["index"], 1)

        self.batch.cancel_job(jobId=children[0], reason="one child")
        self.wait_for_status(children[0], "FAILED")
        self.assertEqual(sorted(j["jobId"] for j in self.batch.list_jobs(arrayJobId=parent, jobStatus="RUNNABLE")["jobSummaryList"]),
                         children[1:])


if __name__ == "__main__":
    unittest.main()
