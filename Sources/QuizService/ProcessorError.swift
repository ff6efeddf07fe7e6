/// What stops the processors from starting or running.
public enum ProcessorError: Error, CustomStringConvertible {
    case unreadableFile(path: String, purpose: String)
    case emptyBootstrapFile(path: String)
    case noQuestionBank(tried: [String])
    case restoreTimedOut(topic: String, read: Int)
    case invalidListenAddress(String)
    case listenFailed(address: String, errno: Int32)
    case partitionsDiffer(answer: Int32, topics: [String])

    public var description: String {
        switch self {
        case .unreadableFile(let path, let purpose):
            return "cannot read \(purpose) from \(path)"
        case .emptyBootstrapFile(let path):
            return "bootstrap file \(path) is empty: is stadium-kafka running?"
        case .noQuestionBank(let tried):
            return "no question bank found (tried \(tried.joined(separator: ", "))): pass --questions FILE"
        case .restoreTimedOut(let topic, let read):
            return "restore: topic \(topic) did not reach its end in time (\(read) records read)"
        case .invalidListenAddress(let address):
            return "--metrics-listen \(address): expected HOST:PORT with an IPv4 host"
        case .listenFailed(let address, let errno):
            return "cannot listen on \(address): errno \(errno)"
        case .partitionsDiffer(let answer, let topics):
            return "topic answer has \(answer) partitions and \(topics.joined(separator: ", ")) another count: processors in a group need them alike"
        }
    }
}
