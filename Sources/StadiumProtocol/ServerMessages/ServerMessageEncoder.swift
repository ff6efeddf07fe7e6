/// Encodes gateway -> client messages into caller-provided buffers without allocating.
///
/// Each message has a `...Length` function giving its exact size and a `write...`
/// function returning the bytes written, or nil when the buffer is too small.
/// Both run the same code, so they cannot disagree.
public enum ServerMessageEncoder {
    // MARK: ok

    /// `{"op":"ok","id":3}`, or `{"op":"ok"}` when the request had no id.
    public static func okLength(id: Int64?) -> Int {
        var writer = JSONWriter()
        encodeOK(id: id, to: &writer)
        return writer.count
    }

    public static func writeOK(id: Int64?, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var writer = JSONWriter(into: buffer)
        encodeOK(id: id, to: &writer)
        return writer.writtenCount
    }

    /// The ok of a sub with the positions its subjects without a key start after, per partition:
    /// `{"op":"ok","id":1,"positions":{"/question":{"0":40,"1":-1}}}` (subjects and partitions sorted).
    public static func okLength(id: Int64?, positions: [String: [Int32: Int64]]) -> Int {
        var writer = JSONWriter()
        encodeOK(id: id, positions: positions, to: &writer)
        return writer.count
    }

    public static func writeOK(id: Int64?, positions: [String: [Int32: Int64]], into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var writer = JSONWriter(into: buffer)
        encodeOK(id: id, positions: positions, to: &writer)
        return writer.writtenCount
    }

    // MARK: err

    /// `{"op":"err","id":3,"code":"forbidden","message":"..."}`; the id is left out when nil.
    public static func errLength(id: Int64?, code: ErrorCode, message: String) -> Int {
        var writer = JSONWriter()
        encodeErr(id: id, code: code, message: message, to: &writer)
        return writer.count
    }

    public static func writeErr(
        id: Int64?, code: ErrorCode, message: String, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = JSONWriter(into: buffer)
        encodeErr(id: id, code: code, message: message, to: &writer)
        return writer.writtenCount
    }

    /// The `err` reply for a refused request.
    public static func errLength(for error: ProtocolError) -> Int {
        errLength(id: error.id, code: error.code, message: error.message)
    }

    public static func writeErr(for error: ProtocolError, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        writeErr(id: error.id, code: error.code, message: error.message, into: buffer)
    }

    // MARK: msg

    /// `{"op":"msg","subject":"/question","seq":41,"data":<value>}`, plus
    /// `,"retained":true` before the closing brace when `retained`, and `"partition":P` after
    /// `seq` for a subject without a key (`partition` not nil).
    public static func msgLength(
        subject: RawSpan, seq: Int64, partition: Int32? = nil, data: MessageData, retained: Bool
    ) -> Int {
        subject.withUnsafeBytes { msgLength(subjectBuffer: $0, seq: seq, partition: partition, data: data, retained: retained) }
    }

    public static func writeMsg(
        subject: RawSpan, seq: Int64, partition: Int32? = nil, data: MessageData, retained: Bool,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        subject.withUnsafeBytes {
            writeMsg(subjectBuffer: $0, seq: seq, partition: partition, data: data, retained: retained, into: buffer)
        }
    }

    public static func msgLength(subject: String, seq: Int64, data: MessageData, retained: Bool) -> Int {
        var subject = subject
        return subject.withUTF8 { msgLength(subjectBuffer: UnsafeRawBufferPointer($0), seq: seq, partition: nil, data: data, retained: retained) }
    }

    public static func writeMsg(
        subject: String, seq: Int64, data: MessageData, retained: Bool, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var subject = subject
        return subject.withUTF8 {
            writeMsg(subjectBuffer: UnsafeRawBufferPointer($0), seq: seq, partition: nil, data: data, retained: retained, into: buffer)
        }
    }

    private static func msgLength(
        subjectBuffer subject: UnsafeRawBufferPointer, seq: Int64, partition: Int32?, data: MessageData, retained: Bool
    ) -> Int {
        var writer = JSONWriter()
        encodeMsg(subject: subject, seq: seq, partition: partition, data: data, retained: retained, to: &writer)
        return writer.count
    }

    private static func writeMsg(
        subjectBuffer subject: UnsafeRawBufferPointer, seq: Int64, partition: Int32?, data: MessageData, retained: Bool,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = JSONWriter(into: buffer)
        encodeMsg(subject: subject, seq: seq, partition: partition, data: data, retained: retained, to: &writer)
        return writer.writtenCount
    }

    // MARK: gap (reserved for replay)

    /// `{"op":"gap","subject":"/question","from":10,"to":41}`: seqs `from...to` of the
    /// subject can no longer be replayed; `"partition":P` after `subject` for a cursor's gap.
    public static func gapLength(subject: String, partition: Int32? = nil, from: Int64, to: Int64) -> Int {
        var writer = JSONWriter()
        encodeGap(subject: subject, partition: partition, from: from, to: to, to: &writer)
        return writer.count
    }

    public static func writeGap(
        subject: String, partition: Int32? = nil, from: Int64, to: Int64, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = JSONWriter(into: buffer)
        encodeGap(subject: subject, partition: partition, from: from, to: to, to: &writer)
        return writer.writtenCount
    }

    // MARK: Shared encoding

    private static func encodeOK(id: Int64?, to writer: inout JSONWriter) {
        writer.append("{\"op\":\"ok\"")
        appendID(id, to: &writer)
        writer.append(UInt8(ascii: "}"))
    }

    private static func encodeOK(id: Int64?, positions: [String: [Int32: Int64]], to writer: inout JSONWriter) {
        writer.append("{\"op\":\"ok\"")
        appendID(id, to: &writer)
        if !positions.isEmpty {
            writer.append(",\"positions\":{")
            for (index, subject) in positions.keys.sorted().enumerated() {
                if index > 0 { writer.append(UInt8(ascii: ",")) }
                writer.appendString(subject)
                writer.append(UInt8(ascii: ":"))
                appendOffsets(positions[subject]!, to: &writer)
            }
            writer.append(UInt8(ascii: "}"))
        }
        writer.append(UInt8(ascii: "}"))
    }

    /// `{"0":40,"1":-1}`: offsets per partition, partitions in order (a cursor, or a sub's positions).
    static func appendOffsets(_ offsets: [Int32: Int64], to writer: inout JSONWriter) {
        writer.append(UInt8(ascii: "{"))
        for (index, partition) in offsets.keys.sorted().enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.append(UInt8(ascii: "\""))
            writer.append(Int64(partition))
            writer.append("\":")
            writer.append(offsets[partition]!)
        }
        writer.append(UInt8(ascii: "}"))
    }

    private static func encodeErr(id: Int64?, code: ErrorCode, message: String, to writer: inout JSONWriter) {
        writer.append("{\"op\":\"err\"")
        appendID(id, to: &writer)
        writer.append(",\"code\":")
        writer.appendString(code.rawValue)
        writer.append(",\"message\":")
        writer.appendString(message)
        writer.append(UInt8(ascii: "}"))
    }

    private static func encodeMsg(
        subject: UnsafeRawBufferPointer, seq: Int64, partition: Int32?, data: MessageData, retained: Bool,
        to writer: inout JSONWriter
    ) {
        writer.append("{\"op\":\"msg\",\"subject\":")
        writer.appendString(subject)
        writer.append(",\"seq\":")
        writer.append(seq)
        if let partition {
            writer.append(",\"partition\":")
            writer.append(Int64(partition))
        }
        writer.append(",\"data\":")
        data.write(to: &writer)
        if retained { writer.append(",\"retained\":true") }
        writer.append(UInt8(ascii: "}"))
    }

    private static func encodeGap(subject: String, partition: Int32?, from: Int64, to: Int64, to writer: inout JSONWriter) {
        writer.append("{\"op\":\"gap\",\"subject\":")
        writer.appendString(subject)
        if let partition {
            writer.append(",\"partition\":")
            writer.append(Int64(partition))
        }
        writer.append(",\"from\":")
        writer.append(from)
        writer.append(",\"to\":")
        writer.append(to)
        writer.append(UInt8(ascii: "}"))
    }

    private static func appendID(_ id: Int64?, to writer: inout JSONWriter) {
        guard let id else { return }
        writer.append(",\"id\":")
        writer.append(id)
    }
}
