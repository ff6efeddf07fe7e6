import Foundation

/// A throwaway CA and a server certificate it signed (localhost, 127.0.0.1), made with the
/// openssl command in a temporary directory, once per CA name.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caFile: String { directory + "/ca.pem" }
    public var chainFile: String { directory + "/chain.pem" }
    public var keyFile: String { directory + "/server.key" }

    public static let shared = Result { try TestCertificates(name: "Stadium Test CA") }
    public static let other = Result { try TestCertificates(name: "Stadium Other CA") }

    public init(name: String) throws {
        directory = NSTemporaryDirectory() + "stadium-tls-\(ProcessInfo.processInfo.processIdentifier)-\(name.hashValue & 0xFFFF_FFFF)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        try Self.openssl(in: directory, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=\(name)",
        ])
        try Self.openssl(in: directory, [
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=localhost",
        ])
        try Self.openssl(in: directory, [
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
        ])
        // The chain a server sends: its certificate first, then the issuer.
        let chain = try String(contentsOfFile: directory + "/server.pem", encoding: .utf8)
            + String(contentsOfFile: directory + "/ca.pem", encoding: .utf8)
        try chain.write(toFile: chainFile, atomically: true, encoding: .utf8)
    }

    private static func openssl(in directory: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first ?? "") failed"])
        }
    }
}
