import Foundation
import Testing
@testable import StadiumProtocol

@Suite struct ServerMessageEncoderTests {
    @Test func ok() throws {
        let withID = encode(length: ServerMessageEncoder.okLength(id: 3)) { ServerMessageEncoder.writeOK(id: 3, into: $0) }
        #expect(withID.text == #"{"op":"ok","id":3}"#)
        #expect(withID.shortBufferRefused)
        let withoutID = encode(length: ServerMessageEncoder.okLength(id: nil)) { ServerMessageEncoder.writeOK(id: nil, into: $0) }
        #expect(withoutID.text == #"{"op":"ok"}"#)
    }

    @Test func errEscapesTheMessage() throws {
        let message = "no \"quotes\" \\ here\n\u{01} caf\u{E9} \u{1F600}"
        let encoded = encode(length: ServerMessageEncoder.errLength(id: -3, code: .forbidden, message: message)) {
            ServerMessageEncoder.writeErr(id: -3, code: .forbidden, message: message, into: $0)
        }
        #expect(encoded.text == #"{"op":"err","id":-3,"code":"forbidden","message":"no \"quotes\" \\ here\n\u0001 café 😀"}"#)
        let object = try foundationObject(encoded.bytes)
        #expect(object["message"] as? String == message)
        #expect(object["id"] as? Int == -3)
        #expect(encoded.shortBufferRefused)
    }

    @Test func errFromAProtocolErrorOmitsAMissingID() {
        let error = ProtocolError.badSubject(id: nil, subject: "x", message: "a subject must start with '/'")
        let encoded = encode(length: ServerMessageEncoder.errLength(for: error)) { ServerMessageEncoder.writeErr(for: error, into: $0) }
        #expect(encoded.text == #"{"op":"err","code":"bad_subject","message":"invalid subject \"x\": a subject must start with '/'"}"#)
    }

    @Test func errorCodesAreStable() {
        #expect(ErrorCode.allCases.map(\.rawValue) == [
            "bad_request", "bad_subject", "forbidden", "kafka_unavailable", "timeout",
            "rate_limited", "too_many_subscriptions", "unauthorized", "token_expiring", "internal",
        ])
    }

    @Test(arguments: [
        #"{"q":"What is 6 x 7?","choices":["42","24"],"n":1.5e3,"ok":true,"none":null}"#,
        #"[1,[2,[]],"\u00e9\"\\"]"#,
        "17",
        "\"plain\"",
    ])
    func msgForwardsJSONValuesVerbatim(_ value: String) throws {
        let encoded = withBytes(value) { record in
            let data = MessageData(recordValue: record.bytes)
            let isVerbatim = data.isVerbatimJSON
            #expect(isVerbatim)
            return encode(length: ServerMessageEncoder.msgLength(subject: "/question", seq: 41, data: data, retained: false)) {
                ServerMessageEncoder.writeMsg(subject: "/question", seq: 41, data: data, retained: false, into: $0)
            }
        }
        #expect(encoded.text == #"{"op":"msg","subject":"/question","seq":41,"data":"# + value + "}")
        #expect(encoded.shortBufferRefused)
        let object = try foundationObject(encoded.bytes)
        #expect(object["seq"] as? Int == 41)
    }

    @Test func msgDropsWhitespaceAroundTheValue() {
        let encoded = withBytes(" \n{\"a\": 1}\r\n") { record in
            let data = MessageData(recordValue: record.bytes)
            return encode(length: ServerMessageEncoder.msgLength(subject: "/top/bob", seq: 0, data: data, retained: true)) {
                ServerMessageEncoder.writeMsg(subject: "/top/bob", seq: 0, data: data, retained: true, into: $0)
            }
        }
        #expect(encoded.text == #"{"op":"msg","subject":"/top/bob","seq":0,"data":{"a": 1},"retained":true}"#)
    }

    @Test(arguments: [
        ("hello world", "hello world"),
        ("", ""),
        ("{\"unterminated\": ", "{\"unterminated\": "),
        ("line1\nline2\t\"q\" \\", "line1\nline2\t\"q\" \\"),
        ("1 2", "1 2"),
    ])
    func msgWrapsNonJSONValuesInAString(_ value: String, _ expected: String) throws {
        let encoded = encodeMsg(record: Array(value.utf8))
        let object = try foundationObject(encoded.bytes)
        #expect(object["data"] as? String == expected)
    }

    @Test(arguments: [
        [0x66, 0x6F, 0xFF, 0x6F] as [UInt8],
        [0xC3],
        [0xE2, 0x82, 0x41, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xC0, 0xAF],
        [0x22, 0xC3, 0x28, 0x22],
        [0xF0, 0x9F, 0x98, 0x80, 0x00, 0x1F, 0x7F],
    ])
    func msgReplacesInvalidUTF8WithReplacementCharacters(_ record: [UInt8]) throws {
        let encoded = encodeMsg(record: record)
        let object = try foundationObject(encoded.bytes)
        #expect(object["data"] as? String == String(decoding: record, as: UTF8.self))
    }

    @Test func msgOfAKafkaNullValueIsNull() throws {
        let data = MessageData(recordValue: nil)
        let encoded = encode(length: ServerMessageEncoder.msgLength(subject: "/question", seq: 9, data: data, retained: false)) {
            ServerMessageEncoder.writeMsg(subject: "/question", seq: 9, data: data, retained: false, into: $0)
        }
        #expect(encoded.text == #"{"op":"msg","subject":"/question","seq":9,"data":null}"#)
        let isVerbatim = data.isVerbatimJSON
        #expect(!isVerbatim)
    }

    @Test func msgFromSubjectBytesAndExtremeSeq() {
        let encoded = withBytes("/result/alice") { subject in
            let data = MessageData(recordValue: subject.bytes)
            return encode(length: ServerMessageEncoder.msgLength(subject: subject.bytes, seq: Int64.max, data: data, retained: false)) {
                ServerMessageEncoder.writeMsg(subject: subject.bytes, seq: Int64.max, data: data, retained: false, into: $0)
            }
        }
        #expect(encoded.text == #"{"op":"msg","subject":"/result/alice","seq":9223372036854775807,"data":"/result/alice"}"#)
    }

    @Test func gap() throws {
        let encoded = encode(length: ServerMessageEncoder.gapLength(subject: "/question", from: 10, to: 41)) {
            ServerMessageEncoder.writeGap(subject: "/question", from: 10, to: 41, into: $0)
        }
        #expect(encoded.text == #"{"op":"gap","subject":"/question","from":10,"to":41}"#)
        #expect(encoded.shortBufferRefused)
        _ = try foundationObject(encoded.bytes)
    }

    private func encodeMsg(record: [UInt8]) -> (text: String, bytes: [UInt8], shortBufferRefused: Bool) {
        withBytes(record) { record in
            let data = MessageData(recordValue: record.bytes)
            let isVerbatim = data.isVerbatimJSON
            #expect(!isVerbatim)
            return encode(length: ServerMessageEncoder.msgLength(subject: "/question", seq: 1, data: data, retained: false)) {
                ServerMessageEncoder.writeMsg(subject: "/question", seq: 1, data: data, retained: false, into: $0)
            }
        }
    }
}
