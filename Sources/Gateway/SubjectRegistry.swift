// Subjects known to this gateway, shared by every ring: names interned to small ids, the
// retained (latest) message of each, and a version that orders deliveries per subject.
import Synchronization
import UringIO

public struct SubjectID: Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}

final class SubjectRegistry: @unchecked Sendable {
    private struct Entry {
        let name: String
        var version: UInt64 = 0
        var retained: FrameHandle?
        /// Local routing only: the next seq for messages published without Kafka.
        var nextLocalSeq: Int64 = 0
    }

    private struct State {
        var ids: [String: UInt32] = [:]
        var entries: [Entry] = []
    }

    private let state = Mutex(State())
    private let frames: FramePool

    init(frames: FramePool) {
        self.frames = frames
    }

    deinit {
        state.withLock { state in
            for entry in state.entries {
                if let retained = entry.retained { frames.release(retained) }
            }
        }
    }

    func id(for name: String) -> SubjectID {
        state.withLock { state in
            if let id = state.ids[name] { return SubjectID(rawValue: id) }
            let id = UInt32(state.entries.count)
            state.entries.append(Entry(name: name))
            state.ids[name] = id
            return SubjectID(rawValue: id)
        }
    }

    func existingID(for name: String) -> SubjectID? {
        state.withLock { $0.ids[name].map(SubjectID.init(rawValue:)) }
    }

    func name(of subject: SubjectID) -> String {
        state.withLock { $0.entries[Int(subject.rawValue)].name }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Takes the next local seq of a subject (used when no Kafka is configured).
    func nextLocalSeq(_ subject: SubjectID) -> Int64 {
        state.withLock { state in
            let seq = state.entries[Int(subject.rawValue)].nextLocalSeq
            state.entries[Int(subject.rawValue)].nextLocalSeq += 1
            return seq
        }
    }

    /// Records a new message: its retained form replaces the old one (taking over the caller's
    /// reference) and the subject's version advances. Returns the new version.
    func recordMessage(_ subject: SubjectID, retained: FrameHandle) -> UInt64 {
        let (version, previous) = state.withLock { state -> (UInt64, FrameHandle?) in
            let index = Int(subject.rawValue)
            let previous = state.entries[index].retained
            state.entries[index].retained = retained
            state.entries[index].version += 1
            return (state.entries[index].version, previous)
        }
        if let previous { frames.release(previous) }
        return version
    }

    /// The retained message and its version, with a reference for the caller to release.
    func retained(_ subject: SubjectID) -> (frame: FrameHandle, version: UInt64)? {
        state.withLock { state in
            let entry = state.entries[Int(subject.rawValue)]
            guard let frame = entry.retained else { return nil }
            frames.retain(frame)
            return (frame, entry.version)
        }
    }
}
