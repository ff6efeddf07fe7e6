// --config FILE: a settings file becomes options placed before the command line's.
import Foundation
import Testing

@testable import StadiumCommandLine

@Suite("Settings files (--config)")
struct ConfigFileTests {
    @Test("lines become options; comments, blank lines and quotes are handled; true is a bare flag, false none")
    func linesBecomeOptions() throws {
        let text = """
            # the gateway of hall 3
            listen = 0.0.0.0:8080

              max-connections=1000000
            --brokers = kafka1:9092,kafka2:9092
            web-root = "/usr/share/stadium/web"
            topics = 'question,result'
            verbose = true
            quiet = false
            """
        #expect(try ConfigFile.options(inText: text, source: "hall3.conf") == [
            "--listen", "0.0.0.0:8080", "--max-connections", "1000000", "--brokers", "kafka1:9092,kafka2:9092",
            "--web-root", "/usr/share/stadium/web", "--topics", "question,result", "--verbose",
        ])
    }

    @Test("a line that is not name = value names its file and line")
    func malformedLine() {
        #expect(throws: ConfigFile.Problem.self) { try ConfigFile.options(inText: "listen = a\nlisten\n", source: "x.conf") }
        do {
            _ = try ConfigFile.options(inText: "listen = a\nlisten\n", source: "x.conf")
        } catch {
            #expect(error.description.hasPrefix("x.conf:2:"), "\(error)")
        }
    }

    @Test("names are option names; a file cannot name another settings file")
    func badNames() {
        for text in ["max connections = 3", "= 3", "config = other.conf"] {
            #expect(throws: ConfigFile.Problem.self, "\(text)") { try ConfigFile.options(inText: text, source: "x.conf") }
        }
    }

    @Test("the file's options go first, so the command line's flags win; --config=FILE works too")
    func commandLineWins() throws {
        let file = try temporaryFile("listen = 0.0.0.0:8080\nlog-level = debug\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try ConfigFile.expand(["--listen", "127.0.0.1:1", "--config", file]) == [
            "--listen", "0.0.0.0:8080", "--log-level", "debug", "--listen", "127.0.0.1:1", "--config", file,
        ])
        #expect(try ConfigFile.expand(["--config=\(file)"]) == [
            "--listen", "0.0.0.0:8080", "--log-level", "debug", "--config=\(file)",
        ])
    }

    @Test("without --config the arguments are unchanged; after -- nothing is read as --config")
    func untouched() throws {
        #expect(try ConfigFile.expand(["--listen", "x"]) == ["--listen", "x"])
        #expect(try ConfigFile.expand(["--", "--config", "nope"]) == ["--", "--config", "nope"])
    }

    @Test("a missing file or a --config without a file is an error that says so")
    func missingFile() {
        #expect(throws: ConfigFile.Problem.self) { try ConfigFile.expand(["--config", "/nonexistent/stadium.conf"]) }
        #expect(throws: ConfigFile.Problem.self) { try ConfigFile.expand(["--config"]) }
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stadium-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
