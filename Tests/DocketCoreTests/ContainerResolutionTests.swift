import DocketCore
import XCTest

final class ContainerResolutionTests: XCTestCase {
    let definition = JobDefinition(
        name: "transcode", revision: 2, arn: "arn", containerProperties: [
            "image": "ffmpeg:6",
            "command": ["ffmpeg", "-i", "Ref::input", "-c", "Ref::codec", "Ref::missing"],
            "environment": [["name": "A", "value": "1"], ["name": "B", "value": "2"]],
            "resourceRequirements": [["type": "VCPU", "value": "2"], ["type": "MEMORY", "value": "1024"]],
            "user": "render",
        ], parameters: ["codec": "mp4", "input": "default.mov"], createdAt: 0)

    func testRefSubstitutionPrefersSubmitParametersAndKeepsUnknownNames() throws {
        let submission = JobSubmission(jobName: "j", jobQueue: "q", jobDefinition: "transcode", parameters: ["input": "clip.mov"])
        let spec = try ContainerResolution.resolve(definition: definition, submission: submission)
        XCTAssertEqual(spec.command, ["ffmpeg", "-i", "clip.mov", "-c", "mp4", "Ref::missing"])
        XCTAssertEqual(spec.image, "ffmpeg:6")
        XCTAssertEqual(spec.user, "render")
    }

    func testOverridesReplaceCommandResourcesAndMergeEnvironment() throws {
        let submission = JobSubmission(jobName: "j", jobQueue: "q", jobDefinition: "transcode", commandOverride: ["echo", "Ref::codec"],
                                       environmentOverride: [EnvironmentVariable(name: "B", value: "two"), EnvironmentVariable(name: "C", value: "3")],
                                       resourceOverride: ResourceOverride(vcpuMillis: 500, memoryMiB: nil, gpus: 1))
        let spec = try ContainerResolution.resolve(definition: definition, submission: submission)
        XCTAssertEqual(spec.command, ["echo", "mp4"])
        XCTAssertEqual(spec.environment.map { "\($0.name)=\($0.value)" }, ["A=1", "B=two", "C=3"])
        XCTAssertEqual(spec.resources, Resources(vcpuMillis: 500, memoryMiB: 1024, gpus: 1))
        XCTAssertEqual(spec.properties["resourceRequirements"], [["type": "VCPU", "value": "0.5"], ["type": "MEMORY", "value": "1024"], ["type": "GPU", "value": "1"]])
    }

    func testMissingCommandIsRefusedNamingTheFields() {
        var bare = definition
        bare.containerProperties = ["image": "x", "resourceRequirements": [["type": "VCPU", "value": "1"], ["type": "MEMORY", "value": "8"]]]
        XCTAssertThrowsError(try ContainerResolution.resolve(definition: bare, submission: JobSubmission(jobName: "j", jobQueue: "q", jobDefinition: "d"))) { error in
            XCTAssertEqual((error as? DocketError)?.field, "containerOverrides.command")
            XCTAssertEqual((error as? DocketError)?.message, "job definition 'transcode:2' has no command and the submission gives none; set containerProperties.command or containerOverrides.command.")
        }
    }

    func testBadRequirementValuesNameTheFieldAndTheRule() {
        XCTAssertThrowsError(try ContainerResolution.parseRequirement(type: "MEMORY", value: "2", field: "x")) { error in
            XCTAssertEqual((error as? DocketError)?.message, "x.value is '2'; a MEMORY value is a whole number of MiB, at least 4.")
        }
        XCTAssertThrowsError(try ContainerResolution.parseRequirement(type: "VCPU", value: "-1", field: "x"))
        XCTAssertThrowsError(try ContainerResolution.parseRequirement(type: "DISK", value: "1", field: "x"))
        XCTAssertEqual(try ContainerResolution.parseRequirement(type: "VCPU", value: "0.25", field: "x"), 250)
    }
}

final class ResourceNameTests: XCTestCase {
    func testAWSNamingRules() {
        XCTAssertNoThrow(try ResourceName.validate("train_gpu-2", field: "jobName"))
        XCTAssertThrowsError(try ResourceName.validate("-leading", field: "jobName"))
        XCTAssertThrowsError(try ResourceName.validate("has space", field: "jobName")) { error in
            XCTAssertEqual((error as? DocketError)?.message, "Provided name has space is not supported pattern[a-zA-Z_0-9-]{1,128}: jobName may contain only letters, digits, hyphens and underscores, and must start with a letter or digit.")
        }
        XCTAssertThrowsError(try ResourceName.validate(String(repeating: "a", count: 129), field: "jobName"))
    }

    func testDefinitionReferencesAcceptNameRevisionAndARN() throws {
        XCTAssertEqual(try JobDefinitionReference(parsing: "train"), JobDefinitionReference(name: "train", revision: nil))
        XCTAssertEqual(try JobDefinitionReference(parsing: "train:3"), JobDefinitionReference(name: "train", revision: 3))
        XCTAssertEqual(try JobDefinitionReference(parsing: "arn:aws:batch:local:000000000000:job-definition/train:7"),
                       JobDefinitionReference(name: "train", revision: 7))
        XCTAssertThrowsError(try JobDefinitionReference(parsing: "train:zero"))
    }
}

final class JSONParserTests: XCTestCase {
    func testParsesWhatAWSClientsSend() throws {
        let text = #"{"jobName":"a\"b\u00e9\ud83d\ude00","n":-1.5e2,"ok":true,"none":null,"list":[1,{"x":[]}]}"#
        let value = try JSONParser.parse(Array(text.utf8))
        XCTAssertEqual(value["jobName"], "a\"bé😀")
        XCTAssertEqual(value["n"], .number(-150))
        XCTAssertEqual(value["ok"], true)
        XCTAssertEqual(value["none"], .null)
        XCTAssertEqual(value["list"], [1, ["x": []]])
    }

    func testRejectsMalformedInputWithAnOffset() {
        for text in ["{not json", "{\"a\":1,}", "[1 2]", "\"open", "{\"a\":1} x", "", "01x"] {
            XCTAssertThrowsError(try JSONParser.parse(Array(text.utf8)), text)
        }
    }
}

final class JSONSerializationTests: XCTestCase {
    func testSerializedTextParsesBackToTheSameValue() throws {
        let value: JSONValue = ["s": "quote\" slash\\ line\n tab\t bell\u{07} é😀", "n": .number(-2.5), "i": 42, "b": false,
                                "z": .null, "a": [1, ["k": []]]]
        let text = value.serialized()
        XCTAssertEqual(try JSONParser.parse(text), value)
        let ordered: JSONValue = ["b": 1, "a": true]
        XCTAssertEqual(String(decoding: ordered.serialized(), as: UTF8.self), #"{"a":true,"b":1}"#)
    }

    func testADeprecatedOverrideOfAResourceTheDefinitionRequiresIsRefusedWithAWSsMessage() throws {
        let definition = JobDefinition(name: "d", revision: 1, arn: "a", containerProperties: [
            "image": "busybox", "command": ["true"], "resourceRequirements": [["type": "VCPU", "value": "1"], ["type": "MEMORY", "value": "64"]],
        ], createdAt: 0)
        var submission = JobSubmission(jobName: "j", jobQueue: "q", jobDefinition: "d")
        submission.resourceOverride.vcpuMillis = 2000
        submission.resourceOverride.deprecatedMembers = ["vcpus"]
        XCTAssertThrowsError(try ContainerResolution.resolve(definition: definition, submission: submission)) { error in
            XCTAssertEqual((error as? DocketError)?.message, "containerOverrides.vcpus: This value was submitted using a deprecated key and may conflict with the value provided by the job definition's resource requirements. Override it with containerOverrides.resourceRequirements type VCPU instead.")
        }
        submission.resourceOverride.deprecatedMembers = []
        XCTAssertEqual(try ContainerResolution.resolve(definition: definition, submission: submission).resources.vcpuMillis, 2000,
                       "the same amount through resourceRequirements is accepted")
    }
}
