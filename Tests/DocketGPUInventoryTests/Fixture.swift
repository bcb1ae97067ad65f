import DocketGPUInventory
import Foundation

/// One machine shape's recorded nvidia-smi outputs, from `Fixtures/<name>/`.
struct Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    var name: String
    var queryXML: String
    var topoMatrix: String?
    var gpuList: String?

    init(_ name: String) throws {
        let directory = Self.root.appendingPathComponent(name)
        func read(_ file: String) -> String? {
            try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        }
        guard let query = read("query.xml") else {
            throw MissingFile(path: directory.appendingPathComponent("query.xml").path)
        }
        self.name = name
        queryXML = query
        topoMatrix = read("topo.txt")
        gpuList = read("list.txt")
    }

    /// Every directory under Fixtures/, so a recording dropped in is tested without code.
    static func all() throws -> [Fixture] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        return try names.sorted().map(Fixture.init)
    }

    struct MissingFile: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is missing; every fixture directory needs the output of `nvidia-smi -q -x` there" }
    }

    func inventory() throws -> GPUInventory {
        try NvidiaSMI.inventory(queryXML: queryXML, topoMatrix: topoMatrix, gpuList: gpuList)
    }

    /// The fixture with its XML edited, for health cases the recordings do not show.
    func replacing(_ target: String, with replacement: String, occurrence: Int = 0) -> Fixture {
        var copy = self
        let ranges = queryXML.ranges(of: target)
        precondition(ranges.count > occurrence, "\(name)/query.xml has no occurrence \(occurrence) of \(target)")
        copy.queryXML.replaceSubrange(ranges[occurrence], with: replacement)
        return copy
    }
}
