/// The gateway URLs a client tries in turn: every failed or dropped connection moves to the next,
/// starting over after the last.
public struct GatewayList: Sendable {
    public let urls: [GatewayURL]
    private var attempts = 0

    /// `urls` parsed; throws when the list is empty or one is not a usable `ws://` URL.
    public init(_ urls: [String]) throws(StadiumError) {
        guard !urls.isEmpty else { throw StadiumError(.badURL, "StadiumClient needs at least one gateway URL") }
        self.urls = try urls.map { url throws(StadiumError) in try GatewayURL(url) }
    }

    /// The URL for the next attempt.
    public mutating func next() -> GatewayURL {
        defer { attempts += 1 }
        return urls[attempts % urls.count]
    }
}
