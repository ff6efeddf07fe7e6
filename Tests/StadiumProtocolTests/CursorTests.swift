import Foundation
import Testing
@testable import StadiumProtocol

/// A subject without a key resumes with a cursor: the last offset seen per partition.
@Suite struct CursorTests {
    @Test func aSinceObjectIsACursorAndNumbersStaySeqs() throws {
        let request = try parseRequest(
            #"{"op":"sub","id":1,"subjects":["/question","/result/al"],"since":{"/question":{"0":41,"1":-1,"12":7},"/result/al":3}}"#
        ).get()
        #expect(request == .sub(id: 1, subjects: ["/question", "/result/al"], since: ["/result/al": 3], cursors: ["/question": [0: 41, 1: -1, 12: 7]]))
    }

    @Test func anEmptyCursorMeansNothingMissedAnywhere() throws {
        let request = try parseRequest(#"{"op":"sub","subjects":["/question"],"since":{"/question":{}}}"#).get()
        #expect(request == .sub(id: nil, subjects: ["/question"], since: [:], cursors: ["/question": [:]]))
    }

    @Test func theLastValueOfASubjectNamedTwiceCounts() throws {
        let request = try parseRequest(#"{"op":"sub","subjects":["/question"],"since":{"/question":{"0":1},"/question":5}}"#).get()
        #expect(request == .sub(id: nil, subjects: ["/question"], since: ["/question": 5], cursors: [:]))
    }

    @Test(arguments: [
        (#"{"/result/al":{"0":1}}"#, "\"since\" value for \"/result/al\" must be an integer: only a subject without a key has a cursor"),
        (#"{"/question":{"x":1}}"#, "cursor for \"/question\": partition \"x\" must be a decimal number from 0 to 2147483647"),
        (#"{"/question":{"-1":1}}"#, "cursor for \"/question\": partition \"-1\" must be a decimal number from 0 to 2147483647"),
        (#"{"/question":{"2147483648":1}}"#, "cursor for \"/question\": partition \"2147483648\" must be a decimal number from 0 to 2147483647"),
        (#"{"/question":{"":1}}"#, "cursor for \"/question\": partition \"\" must be a decimal number from 0 to 2147483647"),
        (#"{"/question":{"0":1,"0":2}}"#, "cursor for \"/question\": partition 0 appears more than once"),
        (#"{"/question":{"0":-2}}"#, "cursor for \"/question\": offset of partition 0 must be an integer from -1 to 9223372036854775807"),
        (#"{"/question":{"0":1.5}}"#, "cursor for \"/question\": offset of partition 0 must be an integer from -1 to 9223372036854775807"),
        (#"{"/question":{"0":"1"}}"#, "cursor for \"/question\": offset of partition 0 must be an integer from -1 to 9223372036854775807"),
        (#"{"/question":[1]}"#, "\"since\" value for \"/question\" must be an integer from 0 to 9223372036854775807"),
    ])
    func aBadCursorIsRefusedWithTheReason(_ since: String, _ message: String) {
        let result = parseRequest(#"{"op":"sub","id":6,"subjects":["/question"],"since":"# + since + "}")
        #expect(result == .failure(.badRequest(id: 6, message: message)))
    }

    @Test func aCursorOfTooManyPartitionsIsRefused() {
        let limit = ClientRequestParser.maximumCursorPartitions
        let entries = (0...limit).map { "\"\($0)\":1" }.joined(separator: ",")
        let result = parseRequest(#"{"op":"sub","id":2,"subjects":["/question"],"since":{"/question":{"# + entries + "}}}")
        #expect(result == .failure(.badRequest(id: 2, message: "cursor for \"/question\" names too many partitions: at most \(limit)")))
    }

    @Test func theEncoderWritesCursorsTheParserReads() throws {
        let bytes = ClientRequestEncoder.sub(id: 4, subjects: ["/question", "/top/x"], since: ["/top/x": 9], cursors: ["/question": [2: 5, 0: -1]])
        #expect(String(decoding: bytes, as: UTF8.self)
            == #"{"op":"sub","id":4,"subjects":["/question","/top/x"],"since":{"/question":{"0":-1,"2":5},"/top/x":9}}"#)
        let request = try withBytes(bytes) { ClientRequestParser.parse($0.bytes) }.get()
        #expect(request == .sub(id: 4, subjects: ["/question", "/top/x"], since: ["/top/x": 9], cursors: ["/question": [0: -1, 2: 5]]))
    }

    @Test func aMessageOfASubjectWithoutKeyNamesItsPartition() throws {
        let subject = Array("/question".utf8)
        let value = Array(#"{"round":1}"#.utf8)
        let encoded = subject.withUnsafeBytes { subject in
            value.withUnsafeBytes { value in
                let data = MessageData(recordValue: value.bytes)
                return encode(length: ServerMessageEncoder.msgLength(subject: subject.bytes, seq: 41, partition: 2, data: data, retained: true)) {
                    ServerMessageEncoder.writeMsg(subject: subject.bytes, seq: 41, partition: 2, data: data, retained: true, into: $0)
                }
            }
        }
        #expect(encoded.text == #"{"op":"msg","subject":"/question","seq":41,"partition":2,"data":{"round":1},"retained":true}"#)
        #expect(encoded.shortBufferRefused)
    }

    @Test func theOkOfASubCarriesPositionsAndACursorGapItsPartition() throws {
        let positions: [String: [Int32: Int64]] = ["/question": [2: 17, 0: 40, 1: -1], "/news": [0: 3]]
        let ok = encode(length: ServerMessageEncoder.okLength(id: 1, positions: positions)) {
            ServerMessageEncoder.writeOK(id: 1, positions: positions, into: $0)
        }
        #expect(ok.text == #"{"op":"ok","id":1,"positions":{"/news":{"0":3},"/question":{"0":40,"1":-1,"2":17}}}"#)
        #expect(ok.shortBufferRefused)
        _ = try foundationObject(ok.bytes)
        let gap = encode(length: ServerMessageEncoder.gapLength(subject: "/question", partition: 1, from: 3, to: 9)) {
            ServerMessageEncoder.writeGap(subject: "/question", partition: 1, from: 3, to: 9, into: $0)
        }
        #expect(gap.text == #"{"op":"gap","subject":"/question","partition":1,"from":3,"to":9}"#)
    }
}
