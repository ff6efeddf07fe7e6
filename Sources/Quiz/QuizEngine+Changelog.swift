import Foundation
import StadiumProtocol

/// The changelog of an engine that holds one partition's users (processors in a group): one
/// record per user whose score changed, key = user, on a compacted topic, so its latest records
/// are that partition's whole state. Value:
/// `{"v":1,"total":T,"seq":S,"answered":["<published id>", ...],"result_offset":X}`, where
/// `answered` lists the open rounds the user answered and `result_offset` is where `result`
/// (same partition) goes on past what the records written so far cover.
extension QuizEngine {
    public static let changelogVersion: Int64 = 1

    /// Changelog values of the users scored since the last call, then forgets them.
    /// `resultOffset`: the partition's `result` offset after every result produced so far.
    public mutating func changelogRecords(resultOffset: Int64) -> [(key: [UInt8], value: [UInt8])] {
        guard !changedUsers.isEmpty else { return [] }
        var seen = Set<UserID>()
        var records: [(key: [UInt8], value: [UInt8])] = []
        for user in changedUsers where seen.insert(user).inserted {
            var json: [UInt8] = []
            json.appendJSON { writer in
                writer.append("{\"v\":")
                writer.append(Self.changelogVersion)
                writer.append(",\"total\":")
                writer.append(leaderboard.total(of: user))
                writer.append(",\"seq\":")
                writer.append(Int64(clamping: leaderboard.reachedSequence(of: user)))
                writer.append(",\"answered\":[")
                var first = true
                for opened in openRounds where opened.answered.contains(user) {
                    if !first { writer.append(UInt8(ascii: ",")) }
                    first = false
                    writer.appendString(opened.publishedID)
                }
                writer.append("],\"result_offset\":")
                writer.append(resultOffset)
                writer.append(UInt8(ascii: "}"))
            }
            records.append((users.names[user], json))
        }
        changedUsers.removeAll(keepingCapacity: true)
        return records
    }

    /// Whether a score changed since the last `changelogRecords`.
    public var hasChangelogRecords: Bool { !changedUsers.isEmpty }

    /// Merges one changelog record (any order, any number of times: the larger total wins,
    /// answered rounds are unions). Restore the open rounds first: answers to rounds not open
    /// here are not kept. Returns the record's `result_offset`.
    @discardableResult
    public mutating func restore(changelogKey key: [UInt8]?, value: [UInt8]) throws(QuizRestoreError) -> Int64 {
        guard let key, !key.isEmpty, UTF8Sequence.isValid(key.span.bytes) else {
            throw .missingField(topic: .scores, field: "key")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] else {
            throw .notJSON(topic: .scores)
        }
        func integer(_ field: String) throws(QuizRestoreError) -> Int64 {
            guard let number = object[field] as? NSNumber else { throw .missingField(topic: .scores, field: field) }
            return number.int64Value
        }
        guard try integer("v") == Self.changelogVersion else { throw .unsupportedVersion(Int(try integer("v"))) }
        let total = try integer("total")
        let sequence = try integer("seq")
        let resultOffset = try integer("result_offset")
        guard let answered = object["answered"] as? [String] else { throw .missingField(topic: .scores, field: "answered") }
        guard total >= 0, sequence >= 0, let user = users.intern(key) else {
            throw .missingField(topic: .scores, field: "total")
        }
        leaderboard.merge(total: total, reached: UInt64(sequence), for: user)
        scoreSequence = max(scoreSequence, UInt64(sequence))
        for id in answered {
            guard let slot = openRounds.firstIndex(where: { $0.publishedID == id }) else { continue }
            openRounds[slot].answered.insert(user)
        }
        return resultOffset
    }
}
