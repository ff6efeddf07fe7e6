/// Dense id of a user inside one engine: indexes the score and answered tables.
public typealias UserID = Int

/// Interns user names (Kafka keys, raw bytes) into dense ids, so per-answer state is
/// plain array indexing.
struct UserDirectory {
    private var idByName: [[UInt8]: UserID] = [:]
    private(set) var names: [[UInt8]] = []

    var count: Int { names.count }

    func id(of name: [UInt8]) -> UserID? {
        idByName[name]
    }

    /// The id of `name`, creating one on first sight; the name array is shared, not copied.
    mutating func intern(_ name: [UInt8]) -> UserID {
        if let id = idByName[name] { return id }
        let id = names.count
        names.append(name)
        idByName[name] = id
        return id
    }

    mutating func reserveCapacity(_ capacity: Int) {
        idByName.reserveCapacity(capacity)
        names.reserveCapacity(capacity)
    }
}
