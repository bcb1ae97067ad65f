import DocketGPUInventory
import DocketGPUPlacement
import Foundation

/// Which GPUs an attempt holds, as written to the state directory before the attempt starts,
/// so a restarted server knows they are taken.
struct Assignment: Codable, Equatable {
    var attemptID: String
    var jobID: String
    var runner: String
    var uuids: [String]
}

/// The compute environment's GPU units, which are drained, and which attempt holds each: the
/// one place a GPU is given out, so no unit is ever held by two attempts.
final class GPULedger: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`.
    private let lock = NSLock()
    private var inventory: GPUInventory
    /// Why a unit may not be given out, by UUID.
    private var drained: [String: String] = [:]
    private var held: [String: Assignment] = [:]
    private let directory: String

    /// Loads the assignments a previous instance left in `directory` (they stay held until their
    /// attempts' exits are reported, or until `forgetAll(except:)` finds them gone).
    init(inventory: GPUInventory, directory: String) {
        self.inventory = inventory
        self.directory = directory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)"),
                  let assignment = try? JSONDecoder().decode(Assignment.self, from: data) else { continue }
            held[assignment.attemptID] = assignment
        }
    }

    var units: [GPUUnit] { lock.withLock { inventory.units } }

    /// Units that may be given out.
    var healthyCount: Int { lock.withLock { inventory.units.count - drained.count } }

    func assignment(of attemptID: String) -> Assignment? { lock.withLock { held[attemptID] } }

    /// Chooses `count` free, healthy units for the attempt and records them (on disk first).
    /// - Returns: the units, or why none can be given now (`permanent` when they never can).
    func assign(count: Int, attemptID: String, jobID: String, runner: String) -> Result<[GPUUnit], GPUShortage> {
        lock.withLock {
            let total = inventory.units.count
            guard count <= total else {
                return .failure(GPUShortage(permanent: true, message: "resourceRequirements GPU: the job asks for \(count) GPUs; this compute environment has \(total). Ask for \(total) or fewer, or send the job to a queue whose compute environment has more."))
            }
            let busy = Set(held.values.flatMap(\.uuids))
            let free = inventory.units.indices.filter { !busy.contains(inventory.units[$0].uuid) && drained[inventory.units[$0].uuid] == nil }
            let chosen: [Int]
            if count == 0 {
                chosen = []
            } else if let picked = GPUPlacement.choose(count, from: free, in: inventory.topology) {
                chosen = picked
            } else {
                return .failure(GPUShortage(permanent: false, message: "the job asks for \(count) GPUs and \(free.count) of \(total) are free and healthy now"))
            }
            let assignment = Assignment(attemptID: attemptID, jobID: jobID, runner: runner, uuids: chosen.map { inventory.units[$0].uuid })
            do {
                let data = try JSONEncoder().encode(assignment)
                let path = file(attemptID)
                try data.write(to: URL(fileURLWithPath: path + ".tmp"))
                guard rename(path + ".tmp", path) == 0 else { throw POSIXError(.EIO) }
            } catch {
                return .failure(GPUShortage(permanent: false, message: "cannot record the GPU assignment in \(directory): \(error)"))
            }
            held[attemptID] = assignment
            return .success(chosen.map { inventory.units[$0] })
        }
    }

    /// Frees the attempt's units (its exit was reported, or it never started).
    func release(_ attemptID: String) {
        lock.withLock {
            held.removeValue(forKey: attemptID)
            unlink(file(attemptID))
        }
    }

    /// Frees the units of held attempts no runner has any more (a server that died between
    /// recording an assignment and starting the attempt).
    func forgetAll(except running: Set<String>) -> [String] {
        let gone = lock.withLock { held.keys.filter { !running.contains($0) } }
        for attemptID in gone { release(attemptID) }
        return gone
    }

    /// Takes `reading` as the inventory when there is none yet (nvidia-smi failed at start).
    func adopt(_ reading: GPUInventory) -> Bool {
        lock.withLock {
            guard inventory.units.isEmpty, !reading.units.isEmpty else { return false }
            inventory = reading
            return true
        }
    }

    /// Applies a fresh reading of the inventory: a unit it no longer lists, or reports a fault
    /// for, is drained; one that is listed and healthy again is given out again. Units the first
    /// reading did not have are not added (their placement needs a restart).
    /// - Returns: the units that became drained or healthy, for the log.
    func refresh(with reading: GPUInventory, source: String) -> [String] {
        lock.withLock {
            let now = Dictionary(reading.units.map { ($0.uuid, $0) }, uniquingKeysWith: { first, _ in first })
            var changes: [String] = []
            for unit in inventory.units {
                let reason: String?
                if let current = now[unit.uuid] {
                    reason = current.fault
                } else {
                    reason = "it disappeared: \(source) no longer lists it. Check the GPU (dmesg for Xid errors); it is given out again once \(source) lists it healthy"
                }
                if drained[unit.uuid] != reason {
                    drained[unit.uuid] = reason
                    changes.append(reason.map { "GPU \(Self.label(unit)) drained: \($0)" } ?? "GPU \(Self.label(unit)) is healthy again")
                }
            }
            let added = now.keys.filter { uuid in !inventory.units.contains { $0.uuid == uuid } }
            if !added.isEmpty { changes.append("new GPUs \(added.sorted().joined(separator: ", ")) are not used until the server restarts") }
            return changes
        }
    }

    /// The drained units and why, for the compute environment's statusReason.
    var notice: String? {
        lock.withLock {
            let lines = inventory.units.compactMap { unit in drained[unit.uuid].map { "GPU \(Self.label(unit)) drained: \($0)" } }
            return lines.isEmpty ? nil : lines.joined(separator: "; ")
        }
    }

    /// Every unit with its health and holder, for docket_gpu_capability_v1.describe_gpus.
    func describe() -> [[String: Any]] {
        lock.withLock {
            let holders = Dictionary(held.values.flatMap { assignment in assignment.uuids.map { ($0, assignment) } },
                                     uniquingKeysWith: { first, _ in first })
            return inventory.units.map { unit in
                var entry: [String: Any] = ["index": unit.index, "uuid": unit.uuid, "model": unit.model,
                                            "health": drained[unit.uuid] == nil ? "HEALTHY" : "DRAINED"]
                entry["pciBusId"] = unit.pciBusID
                entry["memoryMiB"] = unit.memoryMiB
                entry["numaNode"] = unit.numaNode
                entry["cpus"] = unit.cpuAffinity
                entry["parentUuid"] = unit.parentUUID
                entry["migProfile"] = unit.migProfile
                entry["healthReason"] = drained[unit.uuid]
                entry["jobId"] = holders[unit.uuid]?.jobID
                entry["attemptId"] = holders[unit.uuid]?.attemptID
                return entry
            }
        }
    }

    /// "3 (GPU-5c1d…)" or, for a MIG instance, "0 MIG 1g.5gb (MIG-…)": nvidia-smi's index, so
    /// logs agree with what nvidia-smi shows whatever CUDA renumbers.
    static func label(_ unit: GPUUnit) -> String {
        if let profile = unit.migProfile { return "\(unit.index) MIG \(profile) (\(unit.uuid))" }
        return "\(unit.index) (\(unit.uuid))"
    }

    private func file(_ attemptID: String) -> String { "\(directory)/\(attemptID).json" }
}

/// Why no GPUs were given: `permanent` when the job can never get them here.
struct GPUShortage: Error {
    var permanent: Bool
    var message: String
}
