import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties; librdkafka's own message explains a rejected one.
/// The returned pointer is owned by the caller until `rd_kafka_new` succeeds and takes it.
func makeConfigurationHandle(_ config: KafkaConfig) throws(KafkaError) -> OpaquePointer {
    let handle = rd_kafka_conf_new()!
    // Sorted so the first bad property reported is the same on every run.
    for (name, value) in config.properties.sorted(by: { $0.key < $1.key }) {
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(handle, name, value, &errorText, errorText.count)
        if result != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(handle)
            let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError.stadium(
                .configuration, "property \(name)=\(value): \(reason)", operation: "rd_kafka_conf_set")
        }
    }
    return handle
}
