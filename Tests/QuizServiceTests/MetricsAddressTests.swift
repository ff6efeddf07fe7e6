import QuizService
import Testing

@Suite struct MetricsAddressTests {
    @Test func hostAndPortAreRead() throws {
        let address = try MetricsListener.Address(parsing: "127.0.0.1:9470")
        #expect(address.host == "127.0.0.1")
        #expect(address.port == 9470)
    }

    @Test func anythingElseIsRefused() {
        for bad in ["", "9470", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "localhost:9470", ":80"] {
            #expect(throws: ProcessorError.self, "\(bad)") { try MetricsListener.Address(parsing: bad) }
        }
    }
}
