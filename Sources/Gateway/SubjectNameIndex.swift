// Subject names to ids, keyed by each name's hash rather than the name: every gateway of a
// cluster interns and forgets a subject for each record of a player held elsewhere, and a
// dictionary keyed by String rehashes (and so reads from the heap) every name in a cluster of
// buckets on each removal. Hashes are plain integers; the caller's entries keep the names, and a
// name is confirmed against its entry on lookup, so two names with one hash stay apart.

struct SubjectNameIndex {
    /// By the name's hash: the first name with that hash.
    private var byHash: [Int: UInt32] = [:]
    /// Names whose hash another name held when they came (rare: 64-bit hashes).
    private var collided: [String: UInt32] = [:]
    private let hash: (String) -> Int

    /// `hash` is `String.hashValue` (equal names, equal hashes); tests pass one that collides.
    init(hash: @escaping (String) -> Int = { $0.hashValue }) {
        self.hash = hash
    }

    var count: Int { byHash.count + collided.count }

    /// The id of `name`; `nameOf` gives the name an id stands for (the caller's entries).
    func id(of name: String, nameOf: (UInt32) -> String?) -> UInt32? {
        if let id = byHash[hash(name)], nameOf(id) == name { return id }
        return collided.isEmpty ? nil : collided[name]
    }

    /// Adds `name`, which must not be in the index yet.
    mutating func insert(_ name: String, id: UInt32) {
        let key = hash(name)
        if byHash[key] == nil {
            byHash[key] = id
        } else {
            collided[name] = id
        }
    }

    /// Removes `name`, held as `id`.
    mutating func remove(_ name: String, id: UInt32) {
        let key = hash(name)
        if byHash[key] == id {
            byHash[key] = nil
        } else {
            collided[name] = nil
        }
    }
}
