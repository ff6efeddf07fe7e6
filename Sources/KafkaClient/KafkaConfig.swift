/// librdkafka properties by name, exactly as librdkafka spells them (`bootstrap.servers`, `linger.ms`).
public struct KafkaConfig: Sendable, Equatable {
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public init(bootstrapServers: String) {
        self.properties = ["bootstrap.servers": bootstrapServers]
    }

    public subscript(name: String) -> String? {
        get { properties[name] }
        set { properties[name] = newValue }
    }

    /// These properties, with `defaults` filling only the names not already set.
    func addingDefaults(_ defaults: [String: String]) -> KafkaConfig {
        KafkaConfig(properties.merging(defaults) { own, _ in own })
    }

    /// These properties, with `overrides` replacing whatever was set.
    func overriding(_ overrides: [String: String]) -> KafkaConfig {
        KafkaConfig(properties.merging(overrides) { _, forced in forced })
    }
}
