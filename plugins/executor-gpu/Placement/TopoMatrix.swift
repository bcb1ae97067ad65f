/// A machine's GPU topology as `nvidia-smi topo -m` prints it: the GPU-to-GPU link matrix, and
/// each GPU's CPU and NUMA affinity. NIC rows and columns are read past; tabs or runs of spaces
/// separate cells (pasted copies lose their tabs), and terminal escapes are ignored.
public struct TopoMatrix: Sendable {
    public var topology: GPUTopology
    /// Each GPU's "CPU Affinity" cell, e.g. "0-23,48-71"; nil where it says N/A or is absent.
    public var cpuAffinity: [String?]

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws(ParseError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Self.cells(String($0)) }
        guard let header = lines.first(where: { $0.first?.hasPrefix("GPU") == true && $0.first.map(Self.isGPULabel) == true }) else {
            throw ParseError(description: "no header row naming GPU0, GPU1, ... was found; pass the output of `nvidia-smi topo -m`")
        }
        let gpuColumns = header.prefix(while: Self.isGPULabel).count
        let nicColumns = header.dropFirst(gpuColumns).prefix(while: { !$0.hasPrefix("CPU") && !$0.hasPrefix("NUMA") }).count
        var rows: [[String]] = []
        for line in lines where line.first.map(Self.isGPULabel) == true && line != header {
            guard line.first == "GPU\(rows.count)" else { continue }  // a legend line or a repeat
            guard line.count >= 1 + gpuColumns else {
                throw ParseError(description: "row \(line.first ?? "") has \(line.count - 1) cells; the header names \(gpuColumns) GPUs")
            }
            rows.append(line)
        }
        guard rows.count == gpuColumns else {
            throw ParseError(description: "the header names \(gpuColumns) GPUs but \(rows.count) GPU rows follow")
        }
        var links: [[GPULink?]] = Array(repeating: Array(repeating: nil, count: gpuColumns), count: gpuColumns)
        for (i, row) in rows.enumerated() {
            for j in 0..<gpuColumns where i != j {
                guard let link = GPULink(topoCell: row[1 + j]) else {
                    throw ParseError(description: "GPU\(i) to GPU\(j) is '\(row[1 + j])', not a link topo -m prints (NV#, PIX, PXB, PHB, NODE, SYS)")
                }
                links[i][j] = link
            }
        }
        var numa: [Int?] = []
        var affinity: [String?] = []
        for row in rows {
            let rest = Array(row.dropFirst(1 + gpuColumns + nicColumns))
            affinity.append(rest.first.flatMap { $0 == "N/A" ? nil : $0 })
            numa.append(rest.count > 1 ? Int(rest[1]) : nil)
        }
        topology = GPUTopology(numaNodes: numa) { a, b in links[a][b] ?? .crossSocket }
        cpuAffinity = affinity
    }

    static func isGPULabel(_ cell: String) -> Bool {
        cell.hasPrefix("GPU") && cell.count > 3 && cell.dropFirst(3).allSatisfy(\.isNumber)
    }

    /// The line's cells: escapes (ESC [ ... letter) removed, split on tabs and spaces. "CPU
    /// Affinity" and the other two-word headers split too, which the parser allows for.
    static func cells(_ line: String) -> [String] {
        var clean = ""
        var inEscape = false
        for character in line {
            if character == "\u{1B}" { inEscape = true; continue }
            if inEscape { if character.isLetter { inEscape = false }; continue }
            clean.append(character)
        }
        return clean.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }
}
