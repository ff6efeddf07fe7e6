import Foundation
import Quiz

/// The top of one answer partition, as published on `quiz-tops` (key and partition = the
/// answer partition): `{"partition":P,"top":[{"name","score","reached"}, ...]}`.
public struct PartitionTop: Sendable, Equatable {
    public let partition: Int32
    public let entries: [RankedEntry]

    public init(partition: Int32, entries: [RankedEntry]) {
        self.partition = partition
        self.entries = entries
    }

    public func encoded() -> [UInt8] {
        let rows = entries.map { ["name": $0.name, "score": $0.score, "reached": $0.reached] as [String: Any] }
        // Names are valid UTF-8 (the engine admits no other), so serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: ["partition": partition, "top": rows])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// nil for a value that is not a partition top (counted by the caller).
    public init?(value: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any],
              let partition = (object["partition"] as? NSNumber)?.int32Value, partition >= 0,
              let rows = object["top"] as? [[String: Any]]
        else { return nil }
        var entries: [RankedEntry] = []
        for row in rows {
            guard let name = row["name"] as? String, let score = (row["score"] as? NSNumber)?.int64Value,
                  let reached = (row["reached"] as? NSNumber)?.uint64Value
            else { return nil }
            entries.append(RankedEntry(name: name, score: score, reached: reached))
        }
        self.partition = partition
        self.entries = entries
    }
}

/// The global top from the tops of every partition.
public enum LeaderboardMerge {
    /// The best `count` of all entries, best first. A user seen twice (a top published before
    /// the partition moved, and one after) counts once with the better entry: totals only grow.
    public static func merge<Tops: Sequence<[RankedEntry]>>(_ tops: Tops, count: Int) -> [RankedEntry] {
        var best: [String: RankedEntry] = [:]
        for top in tops {
            for entry in top {
                if let known = best[entry.name], !entry.ranksAbove(known) { continue }
                best[entry.name] = entry
            }
        }
        return Array(best.values.sorted { $0.ranksAbove($1) }.prefix(count))
    }
}

/// Where a `gettop` request is answered: by the instance that holds the user's scores.
public enum GetTopRoute: Equatable {
    /// Answer here with this user's total.
    case answer
    /// Send the request on to the owner of this partition (keyed by the user, so it lands there).
    case forward(partition: Int32)
    /// The request was sent on already and its partition is not held here (it moved meanwhile):
    /// answer with what the merged top knows, so it never goes round in circles.
    case answerFromTop

    /// `ownsUserPartition`: this instance holds the answer partition of the user;
    /// `forwarded`: the request carries a key, so it was routed (by a processor or a producer).
    public static func choose(userPartition: Int32, ownsUserPartition: Bool, forwarded: Bool) -> GetTopRoute {
        if ownsUserPartition { return .answer }
        return forwarded ? .answerFromTop : .forward(partition: userPartition)
    }
}
