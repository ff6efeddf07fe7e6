/// Dense id of a user inside one engine: indexes the score and answered tables.
public typealias UserID = Int

/// Interns user names (Kafka keys, raw bytes) into dense ids, so per-answer state is
/// plain array indexing.
///
/// An open-addressing table of ids with a hash tag per slot: a lookup hashes the key once
/// and compares bytes only on a tag match. The standard Dictionary keyed by `[UInt8]`
/// spent most of the scoring time hashing byte by byte and resizing (measured).
struct UserDirectory {
    private static let emptySlot: Int32 = -1

    private(set) var names: [[UInt8]] = []
    private var nameHashes: [UInt64] = []
    private var slots: [Int32]
    private var slotTags: [UInt32]
    /// Per-process seed: user names come from clients, so slot placement is not predictable.
    private let seed: UInt64

    init(initialCapacity: Int = 1 << 12) {
        var capacity = 16
        while capacity < initialCapacity * 2 { capacity <<= 1 }
        slots = Array(repeating: Self.emptySlot, count: capacity)
        slotTags = Array(repeating: 0, count: capacity)
        seed = UInt64.random(in: .min ... .max) | 1
    }

    var count: Int { names.count }

    func id(of name: [UInt8]) -> UserID? {
        id(of: name[...])
    }

    func id(of name: ArraySlice<UInt8>) -> UserID? {
        let hash = hash(name)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        while true {
            let user = slots[slot]
            if user == Self.emptySlot { return nil }
            if slotTags[slot] == tag, names[Int(user)][...] == name { return Int(user) }
            slot = (slot + 1) & mask
        }
    }

    /// The id of `name`, creating one on first sight if `admit` accepts the new name (one
    /// probe for both); the name array is shared, not copied.
    mutating func intern(_ name: [UInt8], admit: ([UInt8]) -> Bool = { _ in true }) -> UserID? {
        let hash = hash(name[...])
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = UInt32(truncatingIfNeeded: hash >> 32)
        while true {
            let user = slots[slot]
            if user == Self.emptySlot { break }
            if slotTags[slot] == tag, names[Int(user)] == name { return Int(user) }
            slot = (slot + 1) & mask
        }
        guard admit(name) else { return nil }
        let id = names.count
        names.append(name)
        nameHashes.append(hash)
        slots[slot] = Int32(id)
        slotTags[slot] = tag
        if names.count * 2 > slots.count { rehash(capacity: slots.count * 2) }
        return id
    }

    private mutating func place(id: UserID, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != Self.emptySlot {
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(id)
        slotTags[slot] = UInt32(truncatingIfNeeded: hash >> 32)
    }

    private mutating func rehash(capacity: Int) {
        slots = Array(repeating: Self.emptySlot, count: capacity)
        slotTags = Array(repeating: 0, count: capacity)
        for (id, hash) in nameHashes.enumerated() {
            place(id: id, hash: hash)
        }
    }

    /// FNV-1a over the bytes from a seeded basis, finished with a multiply-xorshift mix.
    private func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        hash ^= hash >> 32
        hash = hash &* 0xD6E8_FEB8_6659_FD93
        hash ^= hash >> 32
        return hash
    }
}
