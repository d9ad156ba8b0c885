import Testing

@testable import KafkaSink

/// Which librdkafka failures Tributary treats as permanent, by their names in `rdkafka.h`.
@Suite struct KafkaErrorTests {
    @Test func theNamedCodesAreLibrdkafkasNumbers() {
        #expect(KafkaError.Code.queueFull == -184)
        #expect(KafkaError.Code.invalidArgument == -186)
        #expect(KafkaError.Code.unknown == -1)
        #expect(KafkaError.Code.permanent == [10, 17, 18, 29, 87, -190])
    }

    @Test func onlyRefusalsThatCannotChangeArePermanent() {
        #expect(KafkaError(code: KafkaError.Code.messageSizeTooLarge, message: "too large").isPermanent)
        #expect(KafkaError(code: KafkaError.Code.topicAuthorizationFailed, message: "denied").isPermanent)
        // Timed out, broker gone, leader moving: the session restarts and sends the event again.
        for transient: Int32 in [-185, -195, -187, 6, 7] {
            #expect(!KafkaError(code: transient, message: "").isPermanent, "\(transient)")
        }
        #expect(KafkaError(code: -184, message: "").isQueueFull)
        #expect(KafkaError(code: -1, message: "x").description == "x (librdkafka error -1)")
    }

    /// A property librdkafka refuses is named, with a secret value never repeated.
    @Test func aRefusedPropertyIsNamedWithoutItsSecret() {
        #expect {
            try KafkaProducer(properties: [("sasl.password", "hunter2"), ("no.such.property", "1")])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == KafkaError.Code.invalidArgument && error.message.contains("no.such.property")
        }
        #expect {
            try KafkaProducer(properties: [("ssl.key.password", "hunter2"), ("linger.ms", "hunter2")])
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.message.contains("linger.ms")
        }
        #expect(RDKafkaClient.isSecret("sasl.password") && RDKafkaClient.isSecret("sasl.jaas.config"))
        #expect(!RDKafkaClient.isSecret("linger.ms"))
    }

    /// librdkafka's own error text for a secret property's bad value does not echo the value.
    @Test func aBadSecretValueIsNotRepeated() {
        #expect {
            try KafkaProducer(properties: [("sasl.oauthbearer.token.endpoint.url", "not a url \u{7}secret-value")])
        } throws: { error in
            !"\(error)".contains("secret-value")
        }
    }
}
