import Foundation

enum BootstrapFile {
    /// Writes `address` and a newline to a temporary file beside `path`, then renames it into
    /// place, so a reader never sees a partial address.
    static func write(_ address: String, to path: String) throws {
        let temporary = "\(path).\(ProcessInfo.processInfo.processIdentifier).tmp"
        try (address + "\n").write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw BootstrapFileError(path: path, reason: reason)
        }
    }
}

struct BootstrapFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot write bootstrap file \(path): \(reason)" }
}
