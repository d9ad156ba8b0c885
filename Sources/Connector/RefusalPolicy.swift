public import ChangeEvents
public import PGOutput

/// What `errors.mode` does with an event Kafka refused for good: a pure decision, carried out by the pipeline.
public struct RefusalPolicy: Sendable {
    public var mode: ConnectorConfig.ErrorMode
    /// Where `dead_letter` sends refused events.
    public var deadLetterTopic: String
    /// Named in the dead-letter headers, as Kafka Connect names the connector.
    public var connectorName: String

    public init(mode: ConnectorConfig.ErrorMode, deadLetterTopic: String, connectorName: String) {
        self.mode = mode
        self.deadLetterTopic = deadLetterTopic
        self.connectorName = connectorName
    }

    public init(_ config: ConnectorConfig) {
        self.init(
            mode: config.errors.mode, deadLetterTopic: config.errors.deadLetterTopic ?? config.kafka.topicPrefix + ".dlq",
            connectorName: config.name)
    }

    public enum Action: Sendable, Equatable {
        /// Stop without confirming the event.
        case fail
        /// Count the event as delivered and go on.
        case skip
        /// Send this copy under the event's token, then count the event as delivered.
        case deadLetter(ChangeEvent)
        /// Same, for a dead-letter copy that was itself refused: the copy again without its value.
        case deadLetterWithoutValue(ChangeEvent)
    }

    /// The action for a change that could not be written as an event (a value its column's type does not produce):
    /// a dead letter has no key or value, only headers saying what and where.
    public func action(forUnwritable reason: String, table: String, lsn: LSN) -> Action {
        switch mode {
        case .fail: return .fail
        case .skip: return .skip
        case .deadLetter:
            let headers: [ChangeEvent.Header] = [
                .init(name: "__connect.errors.connector.name", value: Array(connectorName.utf8)),
                .init(name: "__connect.errors.exception.message", value: Array(reason.utf8)),
                .init(name: "__tributary.errors.table", value: Array(table.utf8)),
                .init(name: "__tributary.errors.lsn", value: Array(lsn.description.utf8)),
            ]
            return .deadLetter(
                ChangeEvent(
                    topic: deadLetterTopic, key: nil, value: nil, headers: headers, operation: nil,
                    table: TableName(parsing: table), lsn: lsn))
        }
    }

    /// The action for `failure`, whose change is at `lsn` of `table` (`schema.table`, or the topic when unknown).
    public func action(for failure: SinkFailure, lsn: LSN?, table: String) -> Action {
        switch mode {
        case .fail:
            return .fail
        case .skip:
            return .skip
        case .deadLetter:
            let event = failure.event
            if event.topic == deadLetterTopic {
                // The dead-letter copy was refused too (too large for message.max.bytes): keep the key and the headers
                // saying why, without the value. Refused again, there is nowhere left: fail.
                guard let value = event.value else { return .fail }
                var letter = event
                letter.value = nil
                letter.headers.append(
                    .init(
                        name: "__tributary.errors.value_omitted",
                        value: Array("\(value.count) bytes, refused by Kafka: \(failure.message)".utf8)))
                return .deadLetterWithoutValue(letter)
            }
            var headers = event.headers
            headers.append(.init(name: "__connect.errors.topic", value: Array(event.topic.utf8)))
            headers.append(.init(name: "__connect.errors.connector.name", value: Array(connectorName.utf8)))
            headers.append(.init(name: "__connect.errors.exception.message", value: Array(failure.message.utf8)))
            headers.append(.init(name: "__tributary.errors.table", value: Array(table.utf8)))
            if let lsn { headers.append(.init(name: "__tributary.errors.lsn", value: Array(lsn.description.utf8))) }
            var letter = ChangeEvent(
                topic: deadLetterTopic, key: event.key, value: event.value, headers: headers, operation: nil,
                table: event.table, lsn: event.lsn, transactionID: event.transactionID)
            // The copy stands where its original stood, so a replay finds it in the dead-letter topic.
            letter.position = event.position
            return .deadLetter(letter)
        }
    }
}
