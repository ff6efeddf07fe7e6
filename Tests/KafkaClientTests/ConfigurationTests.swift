import Foundation
import KafkaClient
import Testing

@Suite struct ConfigurationTests {
    @Test func invalidValueCarriesLibrdkafkasMessage() {
        #expect {
            try KafkaProducer(config: KafkaConfig(["socket.timeout.ms": "soon"]), onDelivery: { _, _ in })
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.kind == .configuration && error.message.contains("Invalid value for configuration property \"socket.timeout.ms\"")
        }
    }

    @Test func unknownPropertyCarriesLibrdkafkasMessage() {
        #expect {
            try KafkaConsumer(config: KafkaConfig(["no.such.property": "1"]), topics: ["events"])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.kind == .configuration && error.message.contains("No such configuration property: \"no.such.property\"")
        }
    }

    @Test func missingTopicsAreReportedByName() throws {
        let cluster = try DevelopmentCluster(topics: ["question", "result"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        #expect {
            try KafkaConsumer(config: config, topics: ["question", "top", "result", "gettop"])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.kind == .missingTopics(["top", "gettop"]) && error.description.contains("top, gettop")
        }
        let counts = try TopicAdmin(config: config).partitionCounts()
        #expect(counts == ["question": 3, "result": 3])
    }
}

@Suite struct PropertiesFileTests {
    private func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-\(UUID().uuidString).properties").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsKeyValueLinesSkippingCommentsAndBlanks() throws {
        let path = try write("# broker\nbootstrap.servers = 127.0.0.1:9092\n\n  linger.ms=5\nsasl.password=a=b\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try KafkaConfig.load(propertiesFile: path)
        #expect(config.properties == ["bootstrap.servers": "127.0.0.1:9092", "linger.ms": "5", "sasl.password": "a=b"])
    }

    @Test func lineWithoutEqualsNamesFileAndLine() throws {
        let path = try write("linger.ms=5\n# fine\nacks all\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: PropertiesFileError.missingEquals(path: path, line: 3, text: "acks all")) {
            try KafkaConfig.load(propertiesFile: path)
        }
    }

    @Test func emptyAndDuplicateKeysNameTheLine() throws {
        let empty = try write("=5\n")
        let duplicate = try write("acks=all\nlinger.ms=1\nacks=1\n")
        defer {
            try? FileManager.default.removeItem(atPath: empty)
            try? FileManager.default.removeItem(atPath: duplicate)
        }
        #expect(throws: PropertiesFileError.emptyKey(path: empty, line: 1)) { try KafkaConfig.load(propertiesFile: empty) }
        #expect(throws: PropertiesFileError.duplicateKey(path: duplicate, line: 3, key: "acks", firstLine: 1)) {
            try KafkaConfig.load(propertiesFile: duplicate)
        }
    }

    @Test func unreadableFileIsNamed() {
        #expect {
            try KafkaConfig.load(propertiesFile: "/nonexistent/stadium.properties")
        } throws: { error in
            "\(error)".hasPrefix("/nonexistent/stadium.properties: cannot read properties file")
        }
    }
}
