// What one connection may subscribe to and publish on, from its token's `stadium` claim.
public struct Entitlements: Equatable, Sendable {
    /// nil: everything is allowed (`--auth none`).
    private let subscribe: [SubjectPattern]?
    private let publish: [SubjectPattern]?

    public static let everything = Entitlements(subscribe: nil, publish: nil)

    public init(subscribe: [SubjectPattern]?, publish: [SubjectPattern]?) {
        self.subscribe = subscribe
        self.publish = publish
    }

    public func maySubscribe(to subject: String) -> Bool {
        guard let subscribe else { return true }
        return subscribe.contains { $0.matches(subject) }
    }

    public func mayPublish(to subject: String) -> Bool {
        guard let publish else { return true }
        return publish.contains { $0.matches(subject) }
    }
}
