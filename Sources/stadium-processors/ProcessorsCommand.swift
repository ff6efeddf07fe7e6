import ArgumentParser
import Foundation
import KafkaClient
import Logging
import Quiz
import QuizService
import StadiumCommandLine

/// `stadium-processors`: the live quiz's question generator, scorer and leaderboard.
struct ProcessorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stadium-processors",
        abstract: "Publishes quiz questions, scores answers and answers leaderboard requests over Kafka.",
        version: StadiumVersion.current
    )

    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    var brokers: String?

    @Option(name: .customLong("bootstrap-file"), help: "File holding the bootstrap servers (written by stadium-kafka).")
    var bootstrapFile: String?

    @Option(help: "Seconds between questions.")
    var round = 20

    @Option(name: .customLong("answer-window"), help: "Seconds an answer scores after its question, by Kafka timestamp.")
    var answerWindow = 10

    @Option(help: "Entries in a leaderboard reply.")
    var top = 10

    @Option(help: "Question bank (JSON). Default: the bank shipped with the binary.")
    var questions: String?

    @Option(name: .customLong("metrics-listen"), help: "HOST:PORT serving Prometheus metrics at /metrics.")
    var metricsListen: String?

    @Option(name: .customLong("group-id"), help: "Kafka consumer group of the answer and gettop consumer.")
    var groupID = "stadium-processors"

    @Option(
        name: .customLong("session-timeout-ms"),
        help: "Consumer group session timeout. A restart waits about this long minus 1 s for partitions on the development broker, whose 3 s first-join delay needs at least 4000; real brokers refuse less than 6000 by default.")
    var sessionTimeoutMs = 6000

    @Flag(help: "Share the answer partitions with other stadium-processors of the same --group-id: scores kept per partition in topic quiz-scores, questions from the owner of answer partition 0, the top merged through quiz-tops. Without it one process does everything, restarting from quiz-state snapshots.")
    var cluster = false

    @Option(help: "With --cluster: the partitioner of the gateways that produce answers (crc32, librdkafka's default, or murmur2); it tells which instance holds a user's score.")
    var partitioner: KeyPartitioner = .crc32

    @Option(name: .customLong("start-delay"), help: "Seconds before the first question; answers and gettop are consumed meanwhile (players may join first).")
    var startDelay = 0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(help: "Log lines as text, or json: one object a line (time, level, logger, message, metadata) for log shippers.")
    var logFormat: LogFormat = .text

    @Option(help: "Settings file: one `name = value` a line, named as these options without their dashes (`brokers = kafka1:9092`). Options on the command line win over it.")
    var config: String?

    func validate() throws {
        guard (brokers == nil) != (bootstrapFile == nil) else {
            throw ValidationError("give exactly one of --brokers and --bootstrap-file")
        }
        guard round > 0, answerWindow > 0, answerWindow <= round else {
            throw ValidationError("need 0 < --answer-window <= --round (got \(answerWindow) and \(round))")
        }
        guard top > 0 else { throw ValidationError("--top must be positive") }
        guard startDelay >= 0 else { throw ValidationError("--start-delay cannot be negative") }
        // In a group the first question waits for the owner of answer partition 0 anyway.
        guard !(cluster && startDelay > 0) else { throw ValidationError("--start-delay applies without --cluster only") }
        // Below 4 s the development broker drops a member while it still waits out its 3 s join delay.
        guard sessionTimeoutMs >= 4000 else { throw ValidationError("--session-timeout-ms must be at least 4000") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if let metricsListen { _ = try MetricsListener.Address(parsing: metricsListen) }
    }

    func run() throws {
        logFormat.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "stadium.processors")
        do {
            let bank = try QuestionBankFile.load(path: questions, logger: logger)
            var configuration = QuizConfiguration(
                roundMs: Int64(round) * 1000, answerWindowMs: Int64(answerWindow) * 1000, topCount: top
            )
            configuration.snapshotDelayMs = min(2_000, configuration.roundMs - configuration.answerWindowMs)
            let kafka = KafkaConfig(bootstrapServers: try bootstrapServers())
            if cluster {
                var options = GroupProcessor.Options()
                options.groupID = groupID
                options.sessionTimeoutMs = sessionTimeoutMs
                options.partitioner = partitioner
                let processor = try GroupProcessor(
                    bank: bank, configuration: configuration, kafka: kafka, options: options, logger: logger)
                let listener = try metricsListener(logger: logger) { processor.metricsText() }
                try processor.run()
                listener?.stop()
            } else {
                let processor = try QuizProcessor(
                    bank: bank, configuration: configuration, kafka: kafka, groupID: groupID,
                    sessionTimeoutMs: sessionTimeoutMs, logger: logger
                )
                let listener = try metricsListener(logger: logger) { processor.metricsText() }
                try processor.run(startDelay: .seconds(startDelay))
                listener?.stop()
            }
        } catch let error as QuestionBankError {
            logger.critical("question bank rejected: \(error)")
            throw ExitCode.failure
        } catch let error as ProcessorError {
            logger.critical("\(error)")
            throw ExitCode.failure
        } catch let error as KafkaError {
            logger.critical("kafka: \(error)")
            throw ExitCode.failure
        }
    }

    private func metricsListener(logger: Logger, render: @escaping @Sendable () -> [UInt8]) throws -> MetricsListener? {
        guard let metricsListen else { return nil }
        let listener = try MetricsListener(address: try MetricsListener.Address(parsing: metricsListen), logger: logger, render: render)
        logger.info("metrics at http://\(metricsListen)/metrics")
        return listener
    }

    private func bootstrapServers() throws(ProcessorError) -> String {
        if let brokers { return brokers }
        let path = bootstrapFile ?? ""
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadableFile(path: path, purpose: "bootstrap servers")
        }
        let servers = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !servers.isEmpty else { throw .emptyBootstrapFile(path: path) }
        return servers
    }
}

extension KeyPartitioner: ExpressibleByArgument {}
