/// Subject <-> Kafka (topic, key), as docs/PROTOCOL.md ("Mapping to topics and keys") specifies:
/// `/T` is topic `T` with a null key; `/T/K` is topic `T` with key `K`; deeper paths keep
/// everything after the topic segment as the key (`/T/a/b` is topic `T`, key `a/b`).
public enum SubjectMapping {
    /// The topic and key of a valid subject (one `SubjectSyntax` accepts).
    public static func topicAndKey(for subject: String) -> (topic: String, key: String?) {
        let utf8 = subject.utf8
        precondition(utf8.first == UInt8(ascii: "/"), "subject must start with '/'")
        let topicStart = utf8.index(after: utf8.startIndex)
        guard let separator = utf8[topicStart...].firstIndex(of: UInt8(ascii: "/")) else {
            return (String(subject[topicStart...]), nil)
        }
        let keyStart = utf8.index(after: separator)
        return (String(subject[topicStart..<separator]), String(subject[keyStart...]))
    }

    /// The subject of a Kafka record, or nil when no client could subscribe to it
    /// (the key is empty or holds bytes the subject syntax does not allow).
    public static func subject(topic: String, key: String?) -> String? {
        guard !topic.utf8.contains(UInt8(ascii: "/")) else { return nil }
        let subject = key.map { "/\(topic)/\($0)" } ?? "/\(topic)"
        return SubjectSyntax.isValid(subject) ? subject : nil
    }

    /// Writes the subject of a Kafka record into `buffer` without allocating; returns
    /// its length, or nil when it is not a valid subject or does not fit.
    public static func writeSubject(
        topic: RawSpan, key: RawSpan?, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard !topic.withUnsafeBytes({ $0.contains(UInt8(ascii: "/")) }) else { return nil }
        var writer = JSONWriter(into: buffer)
        writer.append(UInt8(ascii: "/"))
        writer.append(topic)
        if let key {
            writer.append(UInt8(ascii: "/"))
            writer.append(key)
        }
        guard let length = writer.writtenCount else { return nil }
        let written = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
        return SubjectSyntax.violation(buffer: written) == nil ? length : nil
    }
}
