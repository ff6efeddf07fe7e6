// Plain HTTP on the gateway's port, and shutting the gateway down.
import Foundation
import Testing

@Suite("HTTP endpoints and shutdown")
struct HTTPEndpointTests {
    @Test("GET /healthz answers 200 with JSON status ok")
    func healthz() throws {
        let gateway = try GatewayProcess()
        let response = try HTTPTestClient.request(port: gateway.port, path: "/healthz")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        let document = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
        #expect(document?["status"] as? String == "ok", "body: \(response.body)")
        try gateway.stop()
    }

    @Test("GET /metrics counts open connections in stadium_connections")
    func metricsShowConnections() throws {
        let gateway = try GatewayProcess()
        let client = try WebSocketTestClient(port: gateway.port)
        var connections: Double?
        // One WebSocket client plus the scrape's own connection.
        let counted = try eventually {
            connections = MetricsText.value(of: "stadium_connections", in: try gateway.metrics())
            return connections == 2
        }
        #expect(counted, "stadium_connections is \(connections.map { "\($0)" } ?? "absent"), expected 2")
        _ = client
        try gateway.stop()
    }

    @Test("an unknown path is 404, a POST is 405")
    func unknownPathAndMethod() throws {
        let gateway = try GatewayProcess()
        #expect(try HTTPTestClient.request(port: gateway.port, path: "/no/such/page").status == 404)
        let post = try HTTPTestClient.request(port: gateway.port, method: "POST", path: "/healthz")
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
        try gateway.stop()
    }

    @Test("/dashboard serves the web root's dashboard.html, / its index.html")
    func dashboardPage() throws {
        let webRoot = FileManager.default.temporaryDirectory.appendingPathComponent("stadium-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: webRoot, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: webRoot) }
        try "<p>index</p>".write(to: webRoot.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "<p>dashboard</p>".write(to: webRoot.appendingPathComponent("dashboard.html"), atomically: true, encoding: .utf8)
        let gateway = try GatewayProcess(["--web-root", webRoot.path])
        let dashboard = try HTTPTestClient.request(port: gateway.port, path: "/dashboard?every=1")
        #expect(dashboard.status == 200)
        #expect(dashboard.header("Content-Type") == "text/html; charset=utf-8")
        #expect(dashboard.body == "<p>dashboard</p>")
        #expect(try HTTPTestClient.request(port: gateway.port, path: "/").body == "<p>index</p>")
        #expect(try HTTPTestClient.request(port: gateway.port, path: "/dashboard/").status == 404)
        try gateway.stop()
    }

    @Test("SIGTERM sends close 1001 to a connected client and the gateway exits 0")
    func sigtermClosesClientsAndExitsCleanly() throws {
        let gateway = try GatewayProcess()
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        gateway.sendTerminate()
        #expect(try client.receiveClose() == 1001)
        #expect(try gateway.waitForExit() == 0)
    }
}
