import ArgumentParser
import Foundation
import KafkaClient
import Logging
import StadiumCommandLine

struct StadiumKafka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stadium-kafka",
        abstract: "Development Kafka broker: librdkafka's in-memory cluster on loopback.",
        discussion: """
            Prints `stadium-kafka: bootstrap HOST:PORT` and runs until SIGINT or SIGTERM.
            The listen port is chosen by the system: librdkafka 2.0.2's mock cluster offers no way \
            to pick it, so there is no --listen-port; use --bootstrap-file to hand the address to scripts.
            """,
        version: StadiumVersion.current)

    @Option(help: "Number of brokers (ids 1...N).")
    var brokersCount: Int = 1

    @Option(help: "Partitions per topic. This broker keeps about 100,000 records per partition: a round of a million answers needs 32.")
    var partitions: Int = 3

    @Option(help: "Comma-separated topics to create.")
    var topics: String = "question,answer,result,gettop,top,quiz-state,quiz-scores,quiz-tops"

    @Option(help: "Write HOST:PORT and a newline to this file once ready (atomically); removed on exit.")
    var bootstrapFile: String?

    func validate() throws {
        guard brokersCount >= 1 else { throw ValidationError("--brokers-count must be at least 1") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
        guard !topicNames.isEmpty else { throw ValidationError("--topics needs at least one topic name") }
    }

    private var topicNames: [String] {
        topics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        let logger = Logger(label: "stadium-kafka")
        // Before any librdkafka thread exists, so every thread inherits the blocked signals.
        let shutdown = ShutdownSignals()
        let cluster = try DevelopmentCluster(brokers: brokersCount, partitions: partitions, topics: topicNames, logger: logger)
        logger.info(
            "development cluster started",
            metadata: ["brokers": "\(brokersCount)", "partitions": "\(partitions)", "topics": "\(topicNames.joined(separator: ","))"])
        print("stadium-kafka: bootstrap \(cluster.bootstrapServers)")
        fflush(stdout)
        if let bootstrapFile {
            try BootstrapFile.write(cluster.bootstrapServers, to: bootstrapFile)
        }
        let signal = shutdown.wait()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        if let bootstrapFile {
            try? FileManager.default.removeItem(atPath: bootstrapFile)
        }
        withExtendedLifetime(cluster) {}
    }
}
