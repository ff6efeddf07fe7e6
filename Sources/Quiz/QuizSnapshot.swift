import QuizRecords
import StadiumProtocol

/// Format of `quiz-state` records (key `snapshot`), one snapshot per round in `parts` records:
/// `{"v":1,"round":R,"part":i,"parts":n,"taken_at_ms":T,"seq":S,"result_offsets":[[partition,offset], ...],
///   "rounds":[{"round","id","published_ms","deadline_ms"}, ...],
///   "users":[["<name>",<total>,<reached seq>,<answered mask>], ...]}`.
/// Bit k of a user's answered mask says they answered `rounds[k]`. Every part repeats the
/// header, so each part restores on its own; the wiring finds the snapshot by reading the
/// topic's last record and stepping back `part` records. `result_offsets` are the positions
/// in `result` the snapshot covers: a restart reads `result` from there.
public struct QuizSnapshotHeader: Sendable, Equatable {
    public static let version: Int64 = 1

    /// The round whose close the snapshot records.
    public let round: Int
    public let part: Int
    public let parts: Int
    public let takenAtMs: Int64

    /// Reads the header fields of one `quiz-state` record without decoding its users.
    public init?(stateRecord value: [UInt8]) {
        var round: Int64?
        var part: Int64?
        var parts: Int64?
        var takenAt: Int64?
        var version: Int64?
        let bytes = value.span.bytes
        let isObject = JSONScanner.forEachMember(of: bytes, range: 0..<bytes.byteCount) { member in
            guard let number = member.value.int64(in: bytes) else { return }
            if member.name.isString("v", in: bytes) { version = number }
            else if member.name.isString("round", in: bytes) { round = number }
            else if member.name.isString("part", in: bytes) { part = number }
            else if member.name.isString("parts", in: bytes) { parts = number }
            else if member.name.isString("taken_at_ms", in: bytes) { takenAt = number }
        }
        guard isObject else { return nil }
        guard version == Self.version, let round, let part, let parts, let takenAt else { return nil }
        self.round = Int(round)
        self.part = Int(part)
        self.parts = Int(parts)
        self.takenAtMs = takenAt
    }
}

extension QuizRestoreError {
    init(_ error: QuizRecordError, topic: QuizTopic) {
        switch error {
        case .notJSON: self = .notJSON(topic: topic)
        case .missingField(let field): self = .missingField(topic: topic, field: field)
        }
    }
}

/// Why a record read back at start could not be restored.
public enum QuizRestoreError: Error, Equatable, CustomStringConvertible {
    case notJSON(topic: QuizTopic)
    case missingField(topic: QuizTopic, field: String)
    case unsupportedVersion(Int)
    /// The question of a restored round is not the one the current bank has for it.
    case questionNotInBank(round: Int, id: String)

    public var description: String {
        switch self {
        case .notJSON(let topic): return "\(topic.rawValue) record is not valid JSON"
        case .missingField(let topic, let field): return "\(topic.rawValue) record has no valid \"\(field)\""
        case .unsupportedVersion(let version): return "quiz-state record has unsupported version \(version)"
        case .questionNotInBank(let round, let id):
            return "round \(round) published \"\(id)\", which the current question bank does not hold at that round"
        }
    }
}
