// Request ids and their replies, without a gateway.
@testable import StadiumClient
import Testing

@Suite("Pending requests")
struct PendingRequestsTests {
    @Test("ids count up and are never reused; a reply settles its request once")
    func repliesFindTheirRequest() {
        var pending = PendingRequests<String>()
        let ids = [pending.register("pub /a"), pending.register("sub /b")]
        #expect(ids == [1, 2])
        let settled = [pending.settle(2), pending.settle(2), pending.settle(nil), pending.settle(99)]
        // A second reply to one id, a reply without id and one with an unknown id settle nothing.
        #expect(settled == ["sub /b", nil, nil, nil])
        let third = pending.register("pub /c")
        #expect(third == 3)
        #expect(pending.count == 2)
    }

    @Test("removeAll hands back what was waiting, oldest first, and keeps counting ids")
    func removeAllOnDrop() {
        var pending = PendingRequests<String>()
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"] { _ = pending.register(name) }
        _ = pending.settle(3)
        let waiting = pending.removeAll()
        #expect(waiting == ["a", "b", "d", "e", "f", "g", "h", "i", "j", "k", "l"])
        #expect(pending.count == 0)
        let next = pending.register("after the drop")
        #expect(next == 13)
    }
}
