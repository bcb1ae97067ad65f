"""Consumable resources through the real aws CLI and boto3: Create, Describe, List (with its
name filter and pagination), Update (SET, ADD, REMOVE, clientToken), Delete, and
ListJobsByConsumableResource."""

import time
import unittest

from Tests.api.docket_server import ServerTestCase, arn, unique

CONTAINER = {"image": "busybox", "command": ["true"],
             "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}]}


class ConsumableResourceLifecycleTests(ServerTestCase):
    def describe(self, reference):
        return self.batch.describe_consumable_resource(consumableResource=reference)

    def test_full_lifecycle_through_the_cli(self):
        name = unique("lic")
        before = int(time.time() * 1000)
        created = self.assertCLIOk(self.aws("create-consumable-resource", "--consumable-resource-name", name,
                                            "--total-quantity", "10", "--resource-type", "REPLENISHABLE", "--tags", "team=lab"))
        self.assertEqual(created, {"consumableResourceName": name, "consumableResourceArn": arn("consumable-resource", name)})

        described = self.assertCLIOk(self.aws("describe-consumable-resource", "--consumable-resource", name))
        self.assertEqual(described["consumableResourceName"], name)
        self.assertEqual(described["consumableResourceArn"], arn("consumable-resource", name))
        self.assertEqual(described["totalQuantity"], 10)
        self.assertEqual(described["inUseQuantity"], 0)
        self.assertEqual(described["availableQuantity"], 10)
        self.assertEqual(described["resourceType"], "REPLENISHABLE")
        self.assertEqual(described["tags"], {"team": "lab"})
        self.assertTrue(before - 1000 <= described["createdAt"] <= int(time.time() * 1000) + 1000, "epoch milliseconds")

        updated = self.assertCLIOk(self.aws("update-consumable-resource", "--consumable-resource", name,
                                            "--operation", "ADD", "--quantity", "5"))
        self.assertEqual(updated["totalQuantity"], 15)
        self.assertEqual(updated["consumableResourceArn"], arn("consumable-resource", name))

        self.assertCLIOk(self.aws("delete-consumable-resource", "--consumable-resource", name))
        self.assertClientError(lambda: self.describe(name), name)
        self.assertNotIn(name, [r["consumableResourceName"] for r in self.batch.list_consumable_resources()["consumableResources"]])

    def test_describe_by_arn(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=3)
        self.assertEqual(self.describe(arn("consumable-resource", name))["consumableResourceName"], name)

    def test_resource_type_defaults_to_replenishable(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        self.assertEqual(self.describe(name)["resourceType"], "REPLENISHABLE")

    def test_set_add_and_remove_change_the_total(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=10, resourceType="NON_REPLENISHABLE")
        self.assertEqual(self.batch.update_consumable_resource(consumableResource=name, operation="SET", quantity=20)["totalQuantity"], 20)
        self.assertEqual(self.batch.update_consumable_resource(consumableResource=name, operation="REMOVE", quantity=5)["totalQuantity"], 15)
        self.assertEqual(self.batch.update_consumable_resource(consumableResource=name, operation="ADD", quantity=1)["totalQuantity"], 16)
        described = self.describe(name)
        self.assertEqual((described["totalQuantity"], described["availableQuantity"]), (16, 16))
        self.assertEqual(described["resourceType"], "NON_REPLENISHABLE")

    def test_a_repeated_client_token_updates_once(self):
        # The model: "two update requests with identical payloads and clientTokens ... Both
        # requests will succeed, but the update will only happen once."
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=10)
        token = unique("token")
        for _ in range(2):
            self.batch.update_consumable_resource(consumableResource=name, operation="ADD", quantity=5, clientToken=token)
        self.assertEqual(self.describe(name)["totalQuantity"], 15)

    def test_list_filters_by_name_prefix_case_insensitively(self):
        prefix = unique("pool")
        names = [f"{prefix}-a", f"{prefix}-b"]
        for name in names:
            self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        self.batch.create_consumable_resource(consumableResourceName=unique("other"), totalQuantity=1)
        listed = self.batch.list_consumable_resources(
            filters=[{"name": "CONSUMABLE_RESOURCE_NAME", "values": [prefix.upper() + "*"]}])["consumableResources"]
        self.assertEqual(sorted(r["consumableResourceName"] for r in listed), names)
        for summary in listed:
            self.assertEqual(summary["consumableResourceArn"], arn("consumable-resource", summary["consumableResourceName"]))
            self.assertEqual(summary["totalQuantity"], 1)
            self.assertEqual(summary["inUseQuantity"], 0)
        exact = self.batch.list_consumable_resources(
            filters=[{"name": "CONSUMABLE_RESOURCE_NAME", "values": [names[0]]}])["consumableResources"]
        self.assertEqual([r["consumableResourceName"] for r in exact], [names[0]])

    def test_list_paginates_with_max_results_and_next_token(self):
        names = {unique("page") for _ in range(3)}
        for name in names:
            self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        seen, token = [], None
        for _ in range(50):
            page = self.batch.list_consumable_resources(maxResults=1, **({"nextToken": token} if token else {}))
            self.assertLessEqual(len(page["consumableResources"]), 1)
            seen += [r["consumableResourceName"] for r in page["consumableResources"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertIsNone(token)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue(names <= set(seen))
        paginated = [r["consumableResourceName"] for p in self.batch.get_paginator("list_consumable_resources").paginate(
            PaginationConfig={"PageSize": 2}) for r in p["consumableResources"]]
        self.assertEqual(sorted(paginated), sorted(seen))

    def test_jobs_that_need_a_resource_are_listed_by_it(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=4)
        definition = unique("jd")
        self.batch.register_job_definition(
            jobDefinitionName=definition, type="container", containerProperties=CONTAINER,
            consumableResourceProperties={"consumableResourceList": [{"consumableResource": name, "quantity": 2}]})
        queue = self.held_queue()
        first = self.submit(queue, name=unique("first"), definition=definition)
        second = self.submit(queue, name=unique("second"), definition=definition,
                             consumableResourcePropertiesOverride={"consumableResourceList": [{"consumableResource": name, "quantity": 1}]})
        self.submit(queue, definition="default")  # needs nothing
        self.wait_for_status(second["jobId"], "RUNNABLE")

        jobs = self.batch.list_jobs_by_consumable_resource(consumableResource=name)["jobs"]
        by_name = {j["jobName"]: j for j in jobs}
        self.assertEqual(set(by_name), {first["jobName"], second["jobName"]})
        self.assertEqual(by_name[first["jobName"]]["quantity"], 2)
        self.assertEqual(by_name[second["jobName"]]["quantity"], 1)
        summary = by_name[first["jobName"]]
        self.assertEqual(summary["jobArn"], first["jobArn"])
        self.assertEqual(summary["jobQueueArn"], arn("job-queue", queue))
        self.assertEqual(summary["jobStatus"], "RUNNABLE")
        self.assertEqual(summary["jobDefinitionArn"], arn("job-definition", f"{definition}:1"))

        self.batch.cancel_job(jobId=first["jobId"], reason="x")
        self.wait_for_status(first["jobId"], "FAILED")
        runnable = self.batch.list_jobs_by_consumable_resource(
            consumableResource=arn("consumable-resource", name), filters=[{"name": "JOB_STATUS", "values": ["RUNNABLE"]}])["jobs"]
        self.assertEqual([j["jobName"] for j in runnable], [second["jobName"]])
        by_job_name = self.batch.list_jobs_by_consumable_resource(
            consumableResource=name, filters=[{"name": "JOB_NAME", "values": [first["jobName"].upper()]}])["jobs"]
        self.assertEqual([j["jobName"] for j in by_job_name], [first["jobName"]])
        paged = [j["jobName"] for p in self.batch.get_paginator("list_jobs_by_consumable_resource").paginate(
            consumableResource=name, PaginationConfig={"PageSize": 1}) for j in p["jobs"]]
        self.assertEqual(sorted(paged), sorted(by_name))

    def test_a_resource_in_use_by_a_definition_can_still_be_deleted(self):
        # The guide: deleting is allowed at any time, even while jobs need the resource.
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
        self.batch.register_job_definition(
            jobDefinitionName=unique("jd"), type="container", containerProperties=CONTAINER,
            consumableResourceProperties={"consumableResourceList": [{"consumableResource": name, "quantity": 1}]})
        self.batch.delete_consumable_resource(consumableResource=name)
        self.assertClientError(lambda: self.describe(name), name)


class ConsumableResourceRefusalTests(ServerTestCase):
    def names(self):
        return [r["consumableResourceName"] for p in self.batch.get_paginator("list_consumable_resources").paginate()
                for r in p["consumableResources"]]

    def test_name_with_forbidden_characters_is_refused(self):
        self.assertCLIError(self.aws("create-consumable-resource", "--consumable-resource-name", "gpu licence", "--total-quantity", "1"),
                            "consumableResourceName", operation="CreateConsumableResource")
        self.assertNotIn("gpu licence", self.names())

    def test_duplicate_name_is_refused_and_the_original_is_unchanged(self):
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=3)
        self.assertClientError(lambda: self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=9),
                               "Object already exists")
        self.assertEqual(self.batch.describe_consumable_resource(consumableResource=name)["totalQuantity"], 3)

    def test_negative_quantities_are_refused(self):
        # The model: totalQuantity and quantity "Must be non-negative".
        name = unique("lic")
        self.assertClientError(lambda: self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=-1),
                               "totalQuantity")
        self.assertNotIn(name, self.names())
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=5)
        self.assertClientError(lambda: self.batch.update_consumable_resource(consumableResource=name, operation="SET", quantity=-2),
                               "quantity")
        self.assertEqual(self.batch.describe_consumable_resource(consumableResource=name)["totalQuantity"], 5)

    def test_removing_more_than_the_total_is_refused(self):
        # Guess: the documentation does not say what REMOVE below zero does; a total below zero
        # means nothing, so we expect a ClientException and the total unchanged.
        name = unique("lic")
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=2)
        self.assertClientError(lambda: self.batch.update_consumable_resource(consumableResource=name, operation="REMOVE", quantity=3),
                               "quantity")
        self.assertEqual(self.batch.describe_consumable_resource(consumableResource=name)["totalQuantity"], 2)

    def test_unknown_enum_values_are_refused(self):
        name = unique("lic")
        self.assertCLIError(self.aws("create-consumable-resource", "--consumable-resource-name", name, "--resource-type", "RENEWABLE"),
                            "resourceType", "RENEWABLE", operation="CreateConsumableResource")
        self.assertNotIn(name, self.names())
        self.batch.create_consumable_resource(consumableResourceName=name, totalQuantity=5)
        self.assertCLIError(self.aws("update-consumable-resource", "--consumable-resource", name, "--operation", "MULTIPLY", "--quantity", "2"),
                            "operation", "MULTIPLY", operation="UpdateConsumableResource")
        self.assertEqual(self.batch.describe_consumable_resource(consumableResource=name)["totalQuantity"], 5)

    def test_unknown_resources_are_refused(self):
        # Unlike the Describe* calls that take a list, these name one resource: an unknown
        # name is an error (as a user would expect; the documentation does not say).
        ghost = unique("ghost")
        self.assertClientError(lambda: self.batch.describe_consumable_resource(consumableResource=ghost), ghost)
        self.assertClientError(lambda: self.batch.update_consumable_resource(consumableResource=ghost, operation="ADD", quantity=1), ghost)
        self.assertClientError(lambda: self.batch.delete_consumable_resource(consumableResource=ghost), ghost)
        self.assertClientError(lambda: self.batch.list_jobs_by_consumable_resource(consumableResource=ghost), ghost)

    def test_a_definition_naming_an_unknown_resource_is_refused(self):
        definition, ghost = unique("jd"), unique("ghost")
        self.assertClientError(lambda: self.batch.register_job_definition(
            jobDefinitionName=definition, type="container", containerProperties=CONTAINER,
            consumableResourceProperties={"consumableResourceList": [{"consumableResource": ghost, "quantity": 1}]}), ghost)
        self.assertEqual(self.batch.describe_job_definitions(jobDefinitionName=definition)["jobDefinitions"], [])


if __name__ == "__main__":
    unittest.main()
