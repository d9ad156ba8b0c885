#ifndef TRIBUTARY_CRDKAFKA_SHIM_H
#define TRIBUTARY_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// rd_kafka_producev is a variadic macro API that Swift cannot call; this wraps the
/// one shape Tributary uses. The payloads are copied (RD_KAFKA_MSG_F_COPY); on success
/// librdkafka owns `headers` (which may be NULL), on failure the caller still does.
/// `partition` is RD_KAFKA_PARTITION_UA for the partitioner's choice; `timestamp` (ms) 0 for now.
static inline rd_kafka_resp_err_t tributary_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                                    int32_t partition, int64_t timestamp,
                                                    const void *key, size_t key_len,
                                                    const void *value, size_t value_len,
                                                    rd_kafka_headers_t *headers,
                                                    void *opaque) {
    if (headers != NULL) {
        return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_TIMESTAMP(timestamp),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_TIMESTAMP(timestamp),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}
#endif
