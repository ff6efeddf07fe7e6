// librdkafka and its development cluster, seen by KafkaClient only.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
