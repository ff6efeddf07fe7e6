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

    @Test("a subject without a key keeps a cursor: its ok's positions, then each live message's partition and seq")
    func cursorFollowsPositionsThenLiveMessages() {
        var ledger = DeliveryLedger()
        ledger.adoptPositions([0: 40, 1: -1, 2: 17], for: "/question")
        // The retained message is the latest one, at or before the positions: it moves nothing.
        let retained = ledger.accept(subject: "/question", seq: 40, partition: 0, retained: true, data: bytes("\"q40\""))
        #expect(retained)
        #expect(ledger.cursor("/question") == [0: 40, 1: -1, 2: 17])
        let live = [
            ledger.accept(subject: "/question", seq: 3, partition: 1, data: bytes("\"q3\"")),
            ledger.accept(subject: "/question", seq: 41, partition: 0, data: bytes("\"q41\"")),
        ]
        #expect(live == [true, true])
        #expect(ledger.cursor("/question") == [0: 41, 1: 3, 2: 17])
        // A resume's ok carries the gateway's positions: the cursor the client resumed from stays.
        ledger.adoptPositions([0: 90, 1: 90, 2: 90], for: "/question")
        #expect(ledger.cursor("/question") == [0: 41, 1: 3, 2: 17])
    }

    @Test("the same offset in two partitions is two records; a live repeat of the retained one moves the cursor")
    func partitionsAreApart() {
        var ledger = DeliveryLedger()
        ledger.adoptPositions([0: 4, 1: 4], for: "/question")
        let accepted = [
            ledger.accept(subject: "/question", seq: 5, partition: 0, retained: true, data: bytes("\"same\"")),
            ledger.accept(subject: "/question", seq: 5, partition: 1, data: bytes("\"same\"")),
            ledger.accept(subject: "/question", seq: 5, partition: 0, data: bytes("\"same\"")),
        ]
        #expect(accepted == [true, true, false])
        #expect(ledger.cursor("/question") == [0: 5, 1: 5])
    }

    @Test("since gives seqs to subjects without a cursor and cursors to the others; forget drops the cursor")
    func sinceSplitsSeqsAndCursors() {
        var ledger = DeliveryLedger()
        ledger.adoptPositions([0: 1], for: "/question")
        _ = ledger.accept(subject: "/question", seq: 2, partition: 0, data: bytes("1"))
        _ = ledger.accept(subject: "/result/al", seq: 7, data: bytes("2"))
        // Messages that name a partition without an ok's positions (a gateway without Kafka) keep a seq.
        _ = ledger.accept(subject: "/news", seq: 9, partition: 0, data: bytes("3"))
        let subjects = ["/question", "/result/al", "/news", "/top/al"]
        #expect(ledger.since(subjects) == ["/result/al": 7, "/news": 9])
        #expect(ledger.cursors(subjects) == ["/question": [0: 2]])
        ledger.forget("/question")
        #expect(ledger.cursors(subjects) == [:])
        #expect(ledger.since(["/question"]) == [:])
        ledger.adoptPositions([0: 8], for: "/question")
        #expect(ledger.cursor("/question") == [0: 8], "a forgotten subject takes the positions of its next sub")
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
