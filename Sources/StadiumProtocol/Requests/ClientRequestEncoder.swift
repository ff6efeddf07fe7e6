/// Encodes client -> gateway requests (for bots and the load generator). Strings are
/// JSON-escaped; subjects are not checked here, the gateway answers `bad_subject`.
public enum ClientRequestEncoder {
    /// `{"op":"pub","id":3,"subject":"/answer/alice","data":<data>}`: the hot path of the
    /// load generator, so sized and written without allocating. `data` must be one JSON value.
    public static func pubLength(id: Int64?, subject: String, data: RawSpan) -> Int {
        var writer = JSONWriter()
        data.withUnsafeBytes { encodePub(id: id, subject: subject, data: $0, to: &writer) }
        return writer.count
    }

    public static func writePub(
        id: Int64?, subject: String, data: RawSpan, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = JSONWriter(into: buffer)
        data.withUnsafeBytes { encodePub(id: id, subject: subject, data: $0, to: &writer) }
        return writer.writtenCount
    }

    public static func pub(id: Int64?, subject: String, data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { data in
            encoded { writer in encodePub(id: id, subject: subject, data: data, to: &writer) }
        }
    }

    /// `{"op":"sub","id":1,"subjects":[...]}` plus `"since":{...}` (keys sorted) when not empty;
    /// `cursors` go in `since` too, as objects of partitions to offsets.
    public static func sub(
        id: Int64?, subjects: [String], since: [String: Int64] = [:], cursors: [String: [Int32: Int64]] = [:]
    ) -> [UInt8] {
        encoded { writer in
            writer.append("{\"op\":\"sub\"")
            appendID(id, to: &writer)
            appendSubjects(subjects, to: &writer)
            if !since.isEmpty || !cursors.isEmpty {
                writer.append(",\"since\":{")
                for (index, subject) in Set(since.keys).union(cursors.keys).sorted().enumerated() {
                    if index > 0 { writer.append(UInt8(ascii: ",")) }
                    writer.appendString(subject)
                    writer.append(UInt8(ascii: ":"))
                    if let cursor = cursors[subject] {
                        ServerMessageEncoder.appendOffsets(cursor, to: &writer)
                    } else {
                        writer.append(since[subject]!)
                    }
                }
                writer.append(UInt8(ascii: "}"))
            }
            writer.append(UInt8(ascii: "}"))
        }
    }

    /// `{"op":"unsub","id":2,"subjects":[...]}`
    public static func unsub(id: Int64?, subjects: [String]) -> [UInt8] {
        encoded { writer in
            writer.append("{\"op\":\"unsub\"")
            appendID(id, to: &writer)
            appendSubjects(subjects, to: &writer)
            writer.append(UInt8(ascii: "}"))
        }
    }

    /// `{"op":"auth","id":4,"token":"..."}`
    public static func auth(id: Int64?, token: String) -> [UInt8] {
        encoded { writer in
            writer.append("{\"op\":\"auth\"")
            appendID(id, to: &writer)
            writer.append(",\"token\":")
            writer.appendString(token)
            writer.append(UInt8(ascii: "}"))
        }
    }

    // MARK: Shared encoding

    /// Runs `encode` once to size the result and once to fill it.
    private static func encoded(_ encode: (inout JSONWriter) -> Void) -> [UInt8] {
        var counter = JSONWriter()
        encode(&counter)
        return [UInt8](unsafeUninitializedCapacity: counter.count) { buffer, initialized in
            var writer = JSONWriter(into: UnsafeMutableRawBufferPointer(buffer))
            encode(&writer)
            initialized = writer.writtenCount ?? 0
        }
    }

    private static func encodePub(id: Int64?, subject: String, data: UnsafeRawBufferPointer, to writer: inout JSONWriter) {
        writer.append("{\"op\":\"pub\"")
        appendID(id, to: &writer)
        writer.append(",\"subject\":")
        writer.appendString(subject)
        writer.append(",\"data\":")
        writer.append(data)
        writer.append(UInt8(ascii: "}"))
    }

    private static func appendSubjects(_ subjects: [String], to writer: inout JSONWriter) {
        writer.append(",\"subjects\":[")
        for (index, subject) in subjects.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.appendString(subject)
        }
        writer.append(UInt8(ascii: "]"))
    }

    private static func appendID(_ id: Int64?, to writer: inout JSONWriter) {
        guard let id else { return }
        writer.append(",\"id\":")
        writer.append(id)
    }
}
