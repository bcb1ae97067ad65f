/// A binary min-heap of timed events. Events due at the same time come out in the order
/// they went in (each carries an insertion number), so a run is exactly repeatable.
struct EventQueue<Payload> {
    private struct Entry {
        var time: Int64
        var order: UInt64
        var payload: Payload
        func precedes(_ other: Entry) -> Bool { (time, order) < (other.time, other.order) }
    }

    private var heap: [Entry] = []
    private var inserted: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// When the earliest event is due, nil when there is none.
    var nextTime: Int64? { heap.first?.time }
    /// The earliest event, left in place.
    var first: (time: Int64, payload: Payload)? { heap.first.map { ($0.time, $0.payload) } }

    mutating func push(_ payload: Payload, at time: Int64) {
        inserted += 1
        heap.append(Entry(time: time, order: inserted, payload: payload))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest event if it is due at or before `time`.
    mutating func pop(dueBy time: Int64) -> (time: Int64, payload: Payload)? {
        guard let first = heap.first, first.time <= time else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (first.time, first.payload)
    }
}
