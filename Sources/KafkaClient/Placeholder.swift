// KafkaClient: placeholder until the module lands.
enum KafkaClientPlaceholder {}
