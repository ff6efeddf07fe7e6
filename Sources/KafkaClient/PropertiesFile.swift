import Foundation

/// Why a properties file could not be read; every case names the file, and the line where there is one.
public enum PropertiesFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missingEquals(path: String, line: Int, text: String)
    case emptyKey(path: String, line: Int)
    case duplicateKey(path: String, line: Int, key: String, firstLine: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read properties file: \(reason)"
        case .missingEquals(let path, let line, let text):
            return "\(path):\(line): expected key=value, found \"\(text)\""
        case .emptyKey(let path, let line):
            return "\(path):\(line): property name before '=' is empty"
        case .duplicateKey(let path, let line, let key, let firstLine):
            return "\(path):\(line): property \"\(key)\" already set on line \(firstLine)"
        }
    }
}

extension KafkaConfig {
    /// Reads `key=value` lines; `#` starts a comment line, blank lines are skipped, spaces around
    /// key and value are trimmed. Values are checked by librdkafka when a client is created.
    public static func load(propertiesFile path: String) throws(PropertiesFileError) -> KafkaConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(properties: text, path: path)
    }

    static func parse(properties text: String, path: String) throws(PropertiesFileError) -> KafkaConfig {
        var properties: [String: String] = [:]
        var lineOfKey: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw .missingEquals(path: path, line: lineNumber, text: line)
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw .emptyKey(path: path, line: lineNumber) }
            if let firstLine = lineOfKey[key] {
                throw .duplicateKey(path: path, line: lineNumber, key: key, firstLine: firstLine)
            }
            lineOfKey[key] = lineNumber
            properties[key] = value
        }
        return KafkaConfig(properties)
    }
}
