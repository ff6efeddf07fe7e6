// Duplicate suppression and the since bookkeeping, without a gateway.
@testable import StadiumClient
import Testing

@Suite("Delivery ledger")
struct DeliveryLedgerTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("a message seen again with the same seq and data is a repeat; new seqs are not")
    func repeatsAreSkipped() {
        var ledger = DeliveryLedger()
        let accepted = [
            ledger.accept(subject: "/result/a", seq: 4, data: bytes(#"{"n":0}"#)),
            ledger.accept(subject: "/result/a", seq: 5, data: bytes(#"{"n":1}"#)),
            ledger.accept(subject: "/result/a", seq: 4, data: bytes(#"{"n":0}"#)),
            ledger.accept(subject: "/result/a", seq: 5, data: bytes(#"{"n":1}"#)),
            ledger.accept(subject: "/result/a", seq: 6, data: bytes(#"{"n":2}"#)),
        ]
        #expect(accepted == [true, true, false, false, true])
        #expect(ledger.lastSeq("/result/a") == 6)
    }

    @Test("seqs that start over bring new data and are delivered; subjects are apart")
    func restartedNumberingIsDelivered() {
        var ledger = DeliveryLedger()
        let accepted = [
            ledger.accept(subject: "/room/1", seq: 0, data: bytes("\"first\"")),
            // A gateway without Kafka restarted numbers from 0 again: same seq, other data.
            ledger.accept(subject: "/room/1", seq: 0, data: bytes("\"again from zero\"")),
            ledger.accept(subject: "/room/2", seq: 0, data: bytes("\"again from zero\"")),
        ]
        #expect(accepted == [true, true, true])
        #expect(ledger.lastSeq("/room/1") == 0)
    }

    @Test("since names the subjects with a delivery and their last seq; forget drops a subject")
    func sinceAndForget() {
        var ledger = DeliveryLedger()
        _ = ledger.accept(subject: "/question", seq: 41, data: bytes("1"))
        _ = ledger.accept(subject: "/result/alice", seq: 7, data: bytes("2"))
        #expect(ledger.since(["/question", "/result/alice", "/top/alice"]) == ["/question": 41, "/result/alice": 7])
        ledger.forget("/question")
        #expect(ledger.since(["/question"]) == [:])
        let afresh = ledger.accept(subject: "/question", seq: 41, data: bytes("1"))
        #expect(afresh, "a forgotten subject starts afresh")
    }

    @Test("only the last window deliveries are remembered")
    func windowForgetsTheOldest() {
        var ledger = DeliveryLedger(window: 3)
        let first = (Int64(0)..<10).map { ledger.accept(subject: "/s", seq: $0, data: bytes("\($0)")) }
        #expect(first.allSatisfy { $0 })
        // 7, 8 and 9 are remembered; 6 and older are not, so they would be delivered again.
        let again = [9, 7, 6].map { ledger.accept(subject: "/s", seq: $0, data: bytes("\($0)")) }
        #expect(again == [false, false, true])
    }

    @Test("a window's worth of deliveries many times over keeps working")
    func longRunsStayBounded() {
        var ledger = DeliveryLedger(window: 4)
        let accepted = (Int64(0)..<10_000).map { ledger.accept(subject: "/s", seq: $0, data: bytes("x")) }
        #expect(accepted.allSatisfy { $0 })
        let repeats = (Int64(9_996)..<10_000).map { ledger.accept(subject: "/s", seq: $0, data: bytes("x")) }
        #expect(repeats == [false, false, false, false])
        let older = ledger.accept(subject: "/s", seq: 9_995, data: bytes("x"))
        #expect(older)
    }

    @Test("the fingerprint is FNV-1a over the bytes")
    func fingerprintIsFNV1a() {
        // Reference values of 32-bit FNV-1a.
        #expect(DeliveryLedger.fingerprint([UInt8]()) == 0x811c_9dc5)
        #expect(DeliveryLedger.fingerprint(bytes("a")) == 0xe40c_292c)
        #expect(DeliveryLedger.fingerprint(bytes("foobar")) == 0xbf9c_f968)
    }
}
