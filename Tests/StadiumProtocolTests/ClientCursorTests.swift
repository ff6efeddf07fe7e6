import Foundation
import Testing
@testable import StadiumProtocol

/// The client's half of cursors: the partition of msg and gap, the positions of ok, a since cursor.
@Suite struct ClientCursorTests {
    @Test func aMsgOfASubjectWithoutKeyParsesWithItsPartitionAndAKeyedOneWithout() throws {
        let keyless = try parse(#"{"op":"msg","subject":"/question","seq":41,"partition":2,"data":{"round":1},"retained":true}"#)
        #expect(keyless.partition == 2)
        #expect(keyless.positions.isEmpty)
        guard case .msg(_, 41, _, true) = keyless.message else {
            Issue.record("not the msg: \(keyless.message)")
            return
        }
        let keyed = try parse(#"{"op":"msg","subject":"/result/al","seq":7,"data":1}"#)
        #expect(keyed.partition == nil)
    }

    @Test func theEncodersMsgAndGapParseBackWithTheirPartition() throws {
        let subject = Array("/question".utf8)
        let value = Array("[1]".utf8)
        let msg = subject.withUnsafeBytes { subject in
            value.withUnsafeBytes { value in
                let data = MessageData(recordValue: value.bytes)
                return encode(length: ServerMessageEncoder.msgLength(subject: subject.bytes, seq: 9, partition: 2147483647, data: data, retained: false)) {
                    ServerMessageEncoder.writeMsg(subject: subject.bytes, seq: 9, partition: 2147483647, data: data, retained: false, into: $0)
                }
            }
        }
        #expect(try parse(msg.text).partition == Int32.max)
        let gap = encode(length: ServerMessageEncoder.gapLength(subject: "/question", partition: 1, from: 3, to: 9)) {
            ServerMessageEncoder.writeGap(subject: "/question", partition: 1, from: 3, to: 9, into: $0)
        }
        #expect(try parse(gap.text) == ServerMessageWithCursor(.gap(subject: "/question", from: 3, to: 9), partition: 1))
        #expect(try parse(#"{"op":"gap","subject":"/result/al","from":1,"to":2}"#)
            == ServerMessageWithCursor(.gap(subject: "/result/al", from: 1, to: 2)))
    }

    @Test func theOkOfASubParsesWithItsPositions() throws {
        let positions: [String: [Int32: Int64]] = ["/question": [0: 40, 1: -1, 2: 17], "/news": [:], "/n\"q": [5: Int64.max]]
        let ok = encode(length: ServerMessageEncoder.okLength(id: 3, positions: positions)) {
            ServerMessageEncoder.writeOK(id: 3, positions: positions, into: $0)
        }
        #expect(try parse(ok.text) == ServerMessageWithCursor(.ok(id: 3), positions: positions))
        #expect(try parse(#"{"op":"ok","id":4}"#) == ServerMessageWithCursor(.ok(id: 4)))
    }

    @Test func theOldParseReadsTheSameMessagesAndIgnoresTheCursorMembers() throws {
        let texts = [
            #"{"op":"msg","subject":"/question","seq":41,"partition":2,"data":5}"#,
            #"{"op":"gap","subject":"/question","partition":1,"from":10,"to":41}"#,
            #"{"op":"ok","id":1,"positions":{"/question":{"0":40}}}"#,
        ]
        for text in texts {
            let old = try withBytes(text) { try ServerMessageParser.parse($0.bytes).get() }
            #expect(try parse(text).message == old, "\(text)")
        }
        #expect(try withBytes(texts[1]) { try ServerMessageParser.parse($0.bytes).get() } == .gap(subject: "/question", from: 10, to: 41))
        // A load generator reading only `parse` is not held up by a cursor member it does not use.
        #expect(try withBytes(#"{"op":"ok","id":1,"positions":[1]}"#) { try ServerMessageParser.parse($0.bytes).get() } == .ok(id: 1))
    }

    @Test(arguments: [
        (#"{"op":"msg","subject":"/q","seq":1,"partition":-1,"data":1}"#, "\"partition\" must be an integer from 0 to 2147483647"),
        (#"{"op":"msg","subject":"/q","seq":1,"partition":2147483648,"data":1}"#, "\"partition\" must be an integer from 0 to 2147483647"),
        (#"{"op":"gap","subject":"/q","partition":"1","from":1,"to":2}"#, "\"partition\" must be an integer from 0 to 2147483647"),
        (#"{"op":"ok","positions":[1]}"#, "\"positions\" must be an object of subjects"),
        (#"{"op":"ok","positions":{"/q":3}}"#, "\"positions\" of \"/q\" must be an object of partitions to offsets"),
        (#"{"op":"ok","positions":{"/q":{"01":3}}}"#, "\"positions\" of \"/q\": partition \"01\" is not a partition number"),
        (#"{"op":"ok","positions":{"/q":{"0":-2}}}"#, "\"positions\" of \"/q\": offset of partition 0 must be an integer from -1 to 9223372036854775807"),
        (#"{"op":"ok","positions":{"/q":{"0":1.5}}}"#, "\"positions\" of \"/q\": offset of partition 0 must be an integer from -1 to 9223372036854775807"),
    ])
    func malformedCursorMembersAreRefusedWithTheReason(_ text: String, _ message: String) {
        #expect(withBytes(text) { ServerMessageParser.parseWithCursor($0.bytes) } == .failure(MalformedServerMessage(message)))
    }

    @Test func aSinceCursorIsEncodedBesideSeqsAndAnEmptyOneStaysAnObject() throws {
        let bytes = ClientRequestEncoder.sub(id: 2, subjects: ["/feed", "/question", "/result/al"], since: ["/result/al": 0], cursors: ["/feed": [:], "/question": [1: 3, 0: 40]])
        #expect(String(decoding: bytes, as: UTF8.self)
            == #"{"op":"sub","id":2,"subjects":["/feed","/question","/result/al"],"since":{"/feed":{},"/question":{"0":40,"1":3},"/result/al":0}}"#)
        #expect(try withBytes(bytes) { ClientRequestParser.parse($0.bytes) }.get()
            == .sub(id: 2, subjects: ["/feed", "/question", "/result/al"], since: ["/result/al": 0], cursors: ["/feed": [:], "/question": [0: 40, 1: 3]]))
        let onlyCursor = ClientRequestEncoder.sub(id: nil, subjects: ["/question"], cursors: ["/question": [0: -1]])
        #expect(String(decoding: onlyCursor, as: UTF8.self) == #"{"op":"sub","subjects":["/question"],"since":{"/question":{"0":-1}}}"#)
    }

    private func parse(_ text: String) throws -> ServerMessageWithCursor {
        try withBytes(text) { try ServerMessageParser.parseWithCursor($0.bytes).get() }
    }
}
