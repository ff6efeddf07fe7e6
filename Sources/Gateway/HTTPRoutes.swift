// Plain HTTP on the WebSocket port: /healthz, /metrics and the web UI's static files.
import Foundation
import WebSocket

final class HTTPRoutes: @unchecked Sendable {
    /// The health document and the metrics text, computed when asked.
    private let health: () -> (healthy: Bool, json: String)
    private let metricsText: () -> [UInt8]
    /// The web UI read once at start (symlinks followed): path -> (content type, bytes). Nothing else is served.
    private let files: [String: (type: String, body: [UInt8])]

    init(webRoot: String?, health: @escaping () -> (healthy: Bool, json: String), metricsText: @escaping () -> [UInt8]) throws {
        self.health = health
        self.metricsText = metricsText
        self.files = try webRoot.map(HTTPRoutes.loadFiles) ?? [:]
    }

    func respond(to head: HTTPRequestHead) -> [UInt8] {
        guard head.method == "GET" || head.method == "HEAD" else {
            return HTTPResponse.encode(
                status: 405, headers: [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")],
                body: Array("only GET and HEAD are served here\n".utf8))
        }
        let response = route(head.path)
        guard head.method == "HEAD" else { return response }
        // HEAD: the same head, no body.
        if let end = response.firstRange(of: Array("\r\n\r\n".utf8)) {
            return Array(response[..<end.upperBound])
        }
        return response
    }

    private func route(_ path: String) -> [UInt8] {
        switch path {
        case "/healthz":
            let (healthy, json) = health()
            return HTTPResponse.encode(
                status: healthy ? 200 : 503, headers: [("Content-Type", "application/json")],
                body: Array(json.utf8))
        case "/metrics":
            return HTTPResponse.encode(
                status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                body: metricsText())
        default:
            let key = Self.pageAliases[path] ?? path
            if let file = files[key] {
                return HTTPResponse.encode(
                    status: 200, headers: [("Content-Type", file.type), ("Cache-Control", "no-cache")],
                    body: file.body)
            }
            return HTTPResponse.text(status: 404, "no such path: \(path)")
        }
    }

    /// Paths that name a page of the web root without its file name.
    private static let pageAliases = ["/": "/index.html", "/dashboard": "/dashboard.html"]

    private static func loadFiles(root: String) throws -> [String: (type: String, body: [UInt8])] {
        let rootURL = URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: rootURL, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: root])
        }
        var files: [String: (type: String, body: [UInt8])] = [:]
        for case let url as URL in enumerator {
            // A symlink serves its target: web/ links the JavaScript client library from clients/js.
            let target = url.resolvingSymlinksInPath()
            guard (try? target.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(rootURL.path.count))
            let path = relative.hasPrefix("/") ? relative : "/" + relative
            files[path] = (contentType(of: url.pathExtension), Array(try Data(contentsOf: target)))
        }
        return files
    }

    private static func contentType(of fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        default: return "application/octet-stream"
        }
    }
}
