/// Per subject: the last seq delivered (the `since` of the next resubscription) and the recent
/// (seq, fingerprint) pairs delivered, so a message that comes again is skipped.
///
/// A message is a repeat only when both its seq and its data match one already delivered: a
/// restarted gateway replays records a client already has (same seq, same bytes), while seqs that
/// start over (a new Kafka cluster, a gateway without Kafka restarted) bring new data under old
/// numbers, and those must be delivered. Seqs are not compared by size: a subject without a key
/// spread over several partitions has seqs that do not grow.
public struct DeliveryLedger: Sendable {
    private struct Entry: Sendable {
        var lastSeq: Int64
        var fingerprints: [Int64: UInt32] = [:]
        // The seqs of `fingerprints` in the order they were delivered (those before orderStart are
        // forgotten), to forget the oldest past the window.
        var order: [Int64] = []
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
    public mutating func accept(subject: String, seq: Int64, data: some Collection<UInt8>) -> Bool {
        let print = Self.fingerprint(data)
        var entry = subjects[subject] ?? Entry(lastSeq: seq)
        if entry.fingerprints[seq] == print { return false }
        entry.lastSeq = seq
        if entry.fingerprints.updateValue(print, forKey: seq) == nil {
            entry.order.append(seq)
        }
        if entry.fingerprints.count > window {
            forgetOldest(in: &entry)
        }
        subjects[subject] = entry
        return true
    }

    /// The seq of the last message delivered on `subject`, if any.
    public func lastSeq(_ subject: String) -> Int64? {
        subjects[subject]?.lastSeq
    }

    /// Drops what is known of `subject` (it was unsubscribed or refused).
    public mutating func forget(_ subject: String) {
        subjects[subject] = nil
    }

    /// The `since` member for a sub of `subjects`: those with a delivery (empty when none has).
    public func since(_ subjects: some Sequence<String>) -> [String: Int64] {
        var since: [String: Int64] = [:]
        for subject in subjects {
            if let last = lastSeq(subject) { since[subject] = last }
        }
        return since
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
