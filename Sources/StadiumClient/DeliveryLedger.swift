/// Per subject: the last seq delivered (the `since` of the next resubscription) and the recent
/// (seq, fingerprint) pairs delivered, so a message that comes again is skipped. A subject
/// without a key keeps a cursor instead of a last seq: the last offset per partition, from its
/// sub's `ok` positions on, so it resumes on any gateway even over several partitions.
///
/// A message is a repeat only when both its seq and its data match one already delivered: a
/// restarted gateway replays records a client already has (same seq, same bytes), while seqs that
/// start over (a new Kafka cluster, a gateway without Kafka restarted) bring new data under old
/// numbers, and those must be delivered. Seqs are not compared by size: a subject without a key
/// spread over several partitions has seqs that do not grow.
public struct DeliveryLedger: Sendable {
    /// One delivery: the same offset in two partitions is two records.
    private struct Delivery: Hashable, Sendable {
        var partition: Int32?
        var seq: Int64
    }

    private struct Entry: Sendable {
        var lastSeq: Int64?
        /// Partition -> last offset, for a subject whose sub's ok gave positions.
        var cursor: [Int32: Int64]?
        var fingerprints: [Delivery: UInt32] = [:]
        // The deliveries of `fingerprints` in the order they came (those before orderStart are
        // forgotten), to forget the oldest past the window.
        var order: [Delivery] = []
        var orderStart = 0
    }

    /// How many deliveries per subject are remembered; larger than what a restarted gateway replays.
    public let window: Int
    private var subjects: [String: Entry] = [:]

    public init(window: Int = 1024) {
        precondition(window > 0, "DeliveryLedger needs a window of at least one message")
        self.window = window
    }

    /// Records a delivery and returns true, or returns false for a repeat of one already delivered.
    /// A message with a `partition` (a subject without a key) moves the subject's cursor unless it
    /// is `retained`: a replay of one at or before the subscription's positions.
    public mutating func accept(
        subject: String, seq: Int64, partition: Int32? = nil, retained: Bool = false, data: some Collection<UInt8>
    ) -> Bool {
        let print = Self.fingerprint(data)
        let delivery = Delivery(partition: partition, seq: seq)
        var entry = subjects[subject] ?? Entry()
        // Even a repeat moves the cursor: a live message first delivered as the retained one is past it.
        if let partition, !retained, entry.cursor != nil { entry.cursor?[partition] = seq }
        if entry.fingerprints[delivery] == print {
            subjects[subject] = entry
            return false
        }
        entry.lastSeq = seq
        if entry.fingerprints.updateValue(print, forKey: delivery) == nil {
            entry.order.append(delivery)
        }
        if entry.fingerprints.count > window {
            forgetOldest(in: &entry)
        }
        subjects[subject] = entry
        return true
    }

    /// Starts the cursor of a subject without a key from its sub's `ok` positions. A resume's ok
    /// carries positions too: the cursor it resumed from stays.
    public mutating func adoptPositions(_ positions: [Int32: Int64], for subject: String) {
        var entry = subjects[subject] ?? Entry()
        guard entry.cursor == nil else { return }
        entry.cursor = positions
        subjects[subject] = entry
    }

    /// The seq of the last message delivered on `subject`, if any.
    public func lastSeq(_ subject: String) -> Int64? {
        subjects[subject]?.lastSeq
    }

    /// The cursor of a subject without a key (partition -> last offset), once its sub's ok gave positions.
    public func cursor(_ subject: String) -> [Int32: Int64]? {
        subjects[subject]?.cursor
    }

    /// Drops what is known of `subject` (it was unsubscribed or refused).
    public mutating func forget(_ subject: String) {
        subjects[subject] = nil
    }

    /// The number `since` values for a sub of `subjects`: those without a cursor that had a delivery.
    public func since(_ subjects: some Sequence<String>) -> [String: Int64] {
        var since: [String: Int64] = [:]
        for subject in subjects where cursor(subject) == nil {
            if let last = lastSeq(subject) { since[subject] = last }
        }
        return since
    }

    /// The cursor `since` values for a sub of `subjects`: those with a cursor.
    public func cursors(_ subjects: some Sequence<String>) -> [String: [Int32: Int64]] {
        var cursors: [String: [Int32: Int64]] = [:]
        for subject in subjects {
            if let cursor = cursor(subject) { cursors[subject] = cursor }
        }
        return cursors
    }

    /// 32-bit FNV-1a of a message's data bytes: the gateway sends a record's value verbatim, so a
    /// repeat has the same bytes.
    public static func fingerprint(_ bytes: some Collection<UInt8>) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    private mutating func forgetOldest(in entry: inout Entry) {
        while entry.fingerprints.count > window, entry.orderStart < entry.order.count {
            let oldest = entry.order[entry.orderStart]
            entry.orderStart += 1
            entry.fingerprints[oldest] = nil
        }
        // Compacts the delivery order now and then instead of shifting the array on every message.
        if entry.orderStart >= window {
            entry.order.removeFirst(entry.orderStart)
            entry.orderStart = 0
        }
    }
}
