/// Chooses which free GPUs a job gets: the set whose slowest link is fastest, and among those
/// the one that leaves the other free GPUs best connected to each other, so the groups that
/// larger jobs need stay whole.
public enum GPUPlacement {
    /// Up to this many candidate sets are scored exhaustively; past it, one greedy set per seed GPU.
    static let exhaustiveLimit = 4096

    /// - Returns: `count` GPU indexes from `free`, ascending, or nil when fewer are free.
    public static func choose(_ count: Int, from free: [Int], in topology: GPUTopology) -> [Int]? {
        let free = Array(Set(free)).sorted()
        guard count > 0, count <= free.count else { return nil }
        if count == free.count { return free }
        let candidates = combinationCount(free.count, count) <= exhaustiveLimit
            ? combinations(of: free, choosing: count)
            : free.map { greedySet(seed: $0, count: count, free: free, topology: topology) }

        // First the slowest link within the set, then how many NUMA nodes it spans (the job's
        // CPUs are pinned to them: NVSwitch makes every pair equal, the sockets do not), then
        // the sum of its links: cheap, and they settle most choices before the costlier
        // fragmentation score is needed.
        var best: [(set: [Int], score: (Int, Int, Int))] = []
        for set in candidates {
            var worst = Int.min, total = 0
            for (position, a) in set.enumerated() {
                for b in set[(position + 1)...] {
                    let rank = topology.link(a, b).rank
                    worst = max(worst, rank)
                    total += rank
                }
            }
            var nodes = 0  // distinct NUMA nodes, without a Set: sets are a few GPUs
            for (position, gpu) in set.enumerated() where !set[..<position].contains(where: { topology.numaNodes[$0] == topology.numaNodes[gpu] }) {
                nodes += 1
            }
            let score = (worst, nodes, total)
            if let first = best.first {
                if score > first.score { continue }
                if score < first.score { best.removeAll() }
            }
            best.append((set, score))
        }
        guard best.count > 1 else { return best.first?.set }
        var chosen = best[0].set
        var chosenLoss = Int.max
        // Each free GPU's links to the other free ones, best first, built once for all the
        // tied candidates: scoring one then walks past at most the few GPUs it takes.
        let neighbours = free.map { a in free.filter { $0 != a }.map { (rank: topology.link(a, $0).rank, gpu: $0) }.sorted { $0.rank < $1.rank } }
        for candidate in best {
            let loss = stranding(after: candidate.set, free: free, neighbours: neighbours)
            if loss < chosenLoss { (chosen, chosenLoss) = (candidate.set, loss) }
        }
        return chosen
    }

    /// How badly the GPUs left free are connected: for each, the rank of its best link to
    /// another GPU left free, summed. Taking one GPU of an NVLink pair strands its partner and
    /// raises this; taking the partner of a GPU already busy does not.
    /// - Parameter neighbours: for each GPU of `free` (same order), its links to the others, best first.
    static func stranding(after taken: [Int], free: [Int], neighbours: [[(rank: Int, gpu: Int)]]) -> Int {
        guard free.count - taken.count > 1 else { return 0 }
        var sum = 0
        for (position, a) in free.enumerated() where !taken.contains(a) {
            if let best = neighbours[position].first(where: { !taken.contains($0.gpu) }) { sum += best.rank }
        }
        return sum
    }

    /// Grows a set from `seed`, each step adding the free GPU whose slowest link to the set is
    /// fastest (ties: the smaller sum of links, then the lower index).
    static func greedySet(seed: Int, count: Int, free: [Int], topology: GPUTopology) -> [Int] {
        var set = [seed]
        while set.count < count {
            var pick = -1, pickWorst = Int.max, pickTotal = Int.max
            for candidate in free where !set.contains(candidate) {
                var worst = Int.min, total = 0
                for member in set {
                    let rank = topology.link(candidate, member).rank
                    worst = max(worst, rank)
                    total += rank
                }
                if worst < pickWorst || (worst == pickWorst && total < pickTotal) {
                    (pick, pickWorst, pickTotal) = (candidate, worst, total)
                }
            }
            set.append(pick)
        }
        return set.sorted()
    }

    static func combinationCount(_ n: Int, _ k: Int) -> Int {
        var result = 1
        for i in 0..<min(k, n - k) {
            result = result * (n - i) / (i + 1)
            if result > exhaustiveLimit { return result }
        }
        return result
    }

    /// Every `k`-subset of `items`, in lexicographic order.
    static func combinations(of items: [Int], choosing k: Int) -> [[Int]] {
        var result: [[Int]] = []
        var indexes = Array(0..<k)
        while true {
            result.append(indexes.map { items[$0] })
            var position = k - 1
            while position >= 0 && indexes[position] == items.count - k + position { position -= 1 }
            guard position >= 0 else { return result }
            indexes[position] += 1
            for next in (position + 1)..<k { indexes[next] = indexes[next - 1] + 1 }
        }
    }
}
