// `--config FILE`: a command's options kept in a file, with the flags' own names.
import Foundation

/// A settings file holds one option a line, `name = value`, `name` being a long flag without its
/// dashes (`listen = 0.0.0.0:8080`, `max-connections = 1000000`); `#` starts a comment line, a
/// value may be quoted, and `name = true` stands for a flag that takes no value.
///
/// The file's options are put before the command line's: ArgumentParser keeps the last value
/// of an option, so a flag given on the command line wins over the file.
public enum ConfigFile {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// `arguments` (without the executable's name) with the options of every `--config FILE`
    /// among them put first. Arguments without `--config` come back as they are.
    public static func expand(_ arguments: [String]) throws(Problem) -> [String] {
        var fromFiles: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            // After "--" everything is a positional argument, never an option.
            if argument == "--" { break }
            if argument == "--config" {
                guard index + 1 < arguments.count else { throw Problem(description: "--config needs a file") }
                fromFiles += try options(inFile: arguments[index + 1])
                index += 2
                continue
            }
            if argument.hasPrefix("--config=") {
                fromFiles += try options(inFile: String(argument.dropFirst("--config=".count)))
            }
            index += 1
        }
        return fromFiles + arguments
    }

    /// The command-line form of a settings file's lines.
    public static func options(inFile path: String) throws(Problem) -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "--config \(path): cannot read it (\(error.localizedDescription))")
        }
        return try options(inText: text, source: path)
    }

    static func options(inText text: String, source: String) throws(Problem) -> [String] {
        var arguments: [String] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let place = "\(source):\(offset + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(description: "\(place): expected `name = value`, found `\(line)`")
            }
            var name = line[..<equals].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("--") { name.removeFirst(2) }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw Problem(description: "\(place): `\(name)` is not an option name (letters, digits and -)")
            }
            guard name != "config" else { throw Problem(description: "\(place): a settings file cannot name another") }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            switch value {
            case "true": arguments.append("--\(name)")
            case "false": continue
            default: arguments += ["--\(name)", value]
            }
        }
        return arguments
    }
}
