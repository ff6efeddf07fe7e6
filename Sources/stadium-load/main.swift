// stadium-load: bot players and load modes against a stadium-gateway.
import ArgumentParser
import Foundation
import LoadGenerator
import Logging
import StadiumCommandLine
import StadiumTLS

enum ModeOption: String, ExpressibleByArgument, CaseIterable {
    case players
    case idle
    case fanout
}

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stadium-load",
        abstract: "Bot players and load generator for stadium-gateway, on io_uring.",
        discussion: """
            Bots (the default, players mode) subscribe to /question, /result/<name> and /top/<name>, \
            answer each live question once after a random think time (never after its deadline), and ask \
            /gettop every few results. A bot cannot see the correct answer (questions never carry it): it \
            picks uniformly at random, except that the bots learn each question's correct answer from results \
            and, when the same question text comes back, recall it with --correct-probability.

            idle: connect, subscribe to --subject, hold. fanout: connection 1 publishes --messages probes \
            {"n":i,"sent_ms":<wall clock>} to --subject once every connection is subscribed; every \
            connection must receive every probe (delivery latency = receipt - sent_ms; loss counted). \
            With Kafka, the gateway must consume the probe topic (e.g. --topics question,result,top,fanout).

            Latencies count from when a probe or answer was due, not from when it went out (coordinated \
            omission corrected, as wrk2 does); send_lag shows how late the load generator itself was. \
            Loss is accounted per connection and per player (a duplicate never makes up for a loss elsewhere). \
            Exit status: 0 when the run passed; 1 when connections failed, anything was lost or duplicated \
            beyond the --tolerate-* limits (all 0 by default). With --duration, players stop answering at the \
            end and wait for the acks and results of the answers sent before they are tallied.

            Many connections: sources are bound explicitly over 127.0.0.2 .. 127.255.255.254 \
            (skipping .0/.255 host parts), one ring per 19,000 connections, ramped at --rate.
            Runs until SIGINT/SIGTERM (fanout: until its probes have drained), then prints a summary.
            """,
        version: StadiumVersion.current)

    @Option(help: "Gateway WebSocket URL (IPv4 or localhost); several, comma-separated, for failover: every connection starts on the first and moves to the next each time it is lost.")
    var url: String = "ws://127.0.0.1:8080/"

    @Flag(help: "TLS to the gateway (wss://; a wss:// URL implies it). The certificate is checked against the URL's host; after a TLS 1.3 handshake a bot keeps only its record keys.")
    var tls = false

    @Flag(help: "Offer permessage-deflate, as browsers do, and inflate what the gateway sends compressed (to measure compression under load).")
    var compression = false

    @Option(help: "With --tls: PEM file of the CA(s) the gateway's certificate must chain to (default: the system's).")
    var ca: String?

    @Option(help: "players (bots playing the quiz), idle (connect and hold) or fanout (delivery latency and loss).")
    var mode: ModeOption = .players

    @Option(help: "Number of bots (players mode).")
    var players: Int?

    @Option(help: "Number of connections (idle and fanout; players mode too when --players is not given).")
    var connections: Int?

    @Option(help: "Connects per second (0: as fast as possible).")
    var rate: Double = 0

    @Option(help: "Bot names; {i} becomes the bot's number from 1.")
    var names: String = "bot-{i}"

    @Option(help: "Probability that a bot recalls a correct answer it learned from an earlier result of the same question (see above).")
    var correctProbability: Double = 0.6

    @Option(help: "A bot asks /gettop after every N results (0: never).")
    var gettopEvery: Int = 3

    @Option(help: "Longest think time before answering, in seconds (bounded by the question's deadline).")
    var thinkSeconds: Double = 10

    @Option(help: "Subject for idle and fanout modes.")
    var subject: String = "/question"

    @Option(help: "fanout: probes to publish.")
    var messages: Int = 10

    @Option(help: "fanout: milliseconds between probes.")
    var intervalMs: Int = 1000

    @Option(help: "fanout: filler bytes added to each probe, for larger messages (the gateway takes up to 64 KiB by default).")
    var paddingBytes: Int = 0

    @Option(help: "fanout: subscribe connection i to <subject>/k<i % keys> alone, each key getting every probe (1: everyone on --subject).")
    var keys: Int = 1

    @Flag(help: "fanout: the probes come from a producer writing to Kafka (Benchmarks/sustained.py); stadium-load only subscribes, and expects --messages probes on every key.")
    var externalPublisher = false

    @Option(help: "Bind source addresses and ports explicitly: auto (above 1,000 connections), on, off.")
    var bindSources: String = "auto"

    @Option(help: "First source address to bind (127.x.y.z).")
    var firstSource: String = "127.0.0.2"

    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).")
    var duration: Double?

    @Option(help: "Seconds a gateway may take to answer the WebSocket upgrade before the connection is dropped and retried.")
    var handshakeTimeout: Double = 30

    @Option(help: "Bytes of each provided receive buffer: larger ones take a burst of large messages in fewer completions (1024...65536).")
    var receiveBufferBytes: Int = 4096

    @Option(help: "Seconds between progress lines.")
    var progressEvery: Double = 5

    @Option(help: "Connection failures (failed connects or handshakes, disconnects, connections never opened) the run may have and still exit 0.")
    var tolerateConnectFailures: Int = 0

    @Option(help: "Lost deliveries (probes; players' questions, acks, results) the run may have and still exit 0.")
    var tolerateLost: Int = 0

    @Option(help: "Duplicate deliveries the run may have and still exit 0.")
    var tolerateDuplicates: Int = 0

    @Option(help: "Write the JSON report to this file.")
    var report: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if let players, players < 1 { throw ValidationError("--players must be at least 1") }
        if let connections, connections < 1 { throw ValidationError("--connections must be at least 1") }
        if !(0...1).contains(correctProbability) { throw ValidationError("--correct-probability lies in 0...1") }
        if rate < 0 { throw ValidationError("--rate cannot be negative") }
        if !["auto", "on", "off"].contains(bindSources) { throw ValidationError("--bind-sources is auto, on or off") }
        guard let first = IPv4Address(dotted: firstSource), SourceEndpointAllocator.usable(first) else {
            throw ValidationError("--first-source must be a 127.x.y.z address other than 127.0.0.1, not ending in .0 or .255")
        }
        if thinkSeconds < 0 { throw ValidationError("--think-seconds cannot be negative") }
        if messages < 1 { throw ValidationError("--messages must be at least 1") }
        if keys < 1 { throw ValidationError("--keys must be at least 1") }
        if keys > 1 && !externalPublisher {
            throw ValidationError("--keys above 1 needs --external-publisher: connection 1 publishes to one subject only")
        }
        if !(0...1_000_000).contains(paddingBytes) { throw ValidationError("--padding-bytes lies in 0...1000000") }
        if !(1024...65536).contains(receiveBufferBytes) { throw ValidationError("--receive-buffer-bytes lies in 1024...65536") }
        if tolerateConnectFailures < 0 || tolerateLost < 0 || tolerateDuplicates < 0 {
            throw ValidationError("--tolerate-* cannot be negative")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "stadium-load")
        var gateways: [GatewayURL] = []
        for text in url.split(separator: ",") {
            do {
                gateways.append(try GatewayURL(parsing: String(text)))
            } catch {
                throw ValidationError(error.description)
            }
        }
        let loadMode: LoadMode
        switch mode {
        case .players:
            let policy = AnswerPolicy(
                thinkTimeMs: 0...Int64(thinkSeconds * 1000), recallProbability: correctProbability)
            loadMode = .players(BotSettings(nameTemplate: names, policy: policy, leaderboardEvery: gettopEvery))
        case .idle:
            loadMode = .idle(subjects: [subject])
        case .fanout:
            loadMode = .fanout(
                FanoutSettings(
                    subject: subject, messages: messages, intervalMilliseconds: Int64(intervalMs),
                    paddingBytes: paddingBytes, keys: keys, externalPublisher: externalPublisher))
        }
        let count = (mode == .players ? players ?? connections : connections ?? players) ?? (mode == .players ? 10 : 1000)
        guard let gateway = gateways.first, gateways.count <= 255 else { throw ValidationError("--url takes one to 255 URLs") }
        var configuration = LoadConfiguration(gateway: gateway, mode: loadMode, connections: count, rate: rate)
        configuration.fallbackGateways = Array(gateways.dropFirst())
        if tls || gateways.contains(where: \.secure) {
            guard gateways.allSatisfy({ $0.secure || tls }) else { throw ValidationError("--url: mix of ws:// and wss://") }
            do {
                configuration.tls = try TLSContext.client(caFile: ca)
            } catch {
                throw ValidationError("--ca: \(error)")
            }
        } else if ca != nil {
            throw ValidationError("--ca goes with --tls (or wss:// URLs)")
        }
        configuration.compression = compression
        configuration.bindSources = bindSources == "auto" ? nil : bindSources == "on"
        configuration.firstSource = IPv4Address(dotted: firstSource)!
        configuration.progressIntervalSeconds = progressEvery
        configuration.receiveBufferBytes = receiveBufferBytes
        configuration.handshakeTimeoutMicroseconds = Int64(handshakeTimeout * 1_000_000)
        configuration.duration = duration.map { .milliseconds(Int64($0 * 1000)) }
        configuration.tolerances = Tolerances(
            connectionFailures: tolerateConnectFailures, lost: tolerateLost, duplicates: tolerateDuplicates)

        let run = LoadRun(configuration: configuration, logger: logger)
        let result = try await SignalScopedRun.run(threadName: "load-run", logger: logger, stop: { run.requestStop() }) {
            try run.run()
        }
        print(result.table)
        if let report {
            try result.write(to: report)
            logger.info("report written to \(report)")
        }
        if let verdict = result.verdict, !verdict.passed { throw ExitCode(1) }
    }
}

await LoadCommand.mainAsync()
