// Planned answers and reconnects leave in due order, only once due.
import Testing

@testable import LoadGenerator

@Suite struct DueQueueTests {
    @Test func popsOnlyWhatIsDueEarliestFirst() {
        var queue = DueQueue<String>()
        for (item, due) in [("c", 30), ("a", 10), ("d", 40), ("b", 20)] as [(String, Int64)] { queue.push(item, due: due) }
        #expect(queue.popDue(now: 5) == nil)
        var popped: [String] = []
        while let item = queue.popDue(now: 25) { popped.append(item) }
        #expect(popped == ["a", "b"])
        #expect(queue.count == 2 && queue.nextDue == 30)
    }
}
