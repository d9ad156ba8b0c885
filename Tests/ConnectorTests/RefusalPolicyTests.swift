import ChangeEvents
import Connector
import PGOutput
import Testing

/// errors.mode's decision for an event Kafka refused for good, apart from the pipeline that carries it out.
@Suite struct RefusalPolicyTests {
    static let event = ChangeEvent(
        topic: "p.public.items", key: Array(#"{"id":1}"#.utf8), value: Array(#"{"op":"c"}"#.utf8),
        headers: [.init(name: "trace", value: [1])], operation: .create, table: TableName(schema: "public", name: "items"),
        lsn: LSN(0x110), transactionID: 7)
    static let failure = SinkFailure(message: "Broker: Message size too large", isPermanent: true, event: event)

    static func policy(_ mode: ConnectorConfig.ErrorMode) -> RefusalPolicy {
        RefusalPolicy(mode: mode, deadLetterTopic: "p.dlq", connectorName: "shop")
    }

    @Test func failAndSkipDecideNothingElse() {
        #expect(Self.policy(.fail).action(for: Self.failure, lsn: LSN(0x110), table: "public.items") == .fail)
        #expect(Self.policy(.skip).action(for: Self.failure, lsn: LSN(0x110), table: "public.items") == .skip)
    }

    @Test func aDeadLetterKeepsTheRecordAndSaysWhy() throws {
        let action = Self.policy(.deadLetter).action(for: Self.failure, lsn: LSN(0x110), table: "public.items")
        guard case .deadLetter(let letter) = action else {
            Issue.record("expected a dead letter, got \(action)")
            return
        }
        #expect(letter.topic == "p.dlq")
        #expect(letter.key == Self.event.key && letter.value == Self.event.value)
        #expect(letter.table == Self.event.table && letter.lsn == LSN(0x110) && letter.transactionID == 7)
        let headers = Dictionary(letter.headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }) { $1 }
        #expect(headers["trace"] == "\u{1}", "the event's own headers stay")
        #expect(headers["__connect.errors.topic"] == "p.public.items")
        #expect(headers["__connect.errors.connector.name"] == "shop")
        #expect(headers["__connect.errors.exception.message"] == "Broker: Message size too large")
        #expect(headers["__tributary.errors.table"] == "public.items")
        #expect(headers["__tributary.errors.lsn"] == "0/110")
    }

    /// The copy was refused too: it goes again without its value; refused once more, there is nowhere left.
    @Test func aRefusedDeadLetterGoesWithoutItsValueThenFails() throws {
        let policy = Self.policy(.deadLetter)
        guard case .deadLetter(let letter) = policy.action(for: Self.failure, lsn: LSN(0x110), table: "public.items") else {
            Issue.record("expected a dead letter")
            return
        }
        let refusedLetter = SinkFailure(message: "too large", isPermanent: true, event: letter)
        guard case .deadLetterWithoutValue(let bare) = policy.action(for: refusedLetter, lsn: nil, table: "p.dlq") else {
            Issue.record("expected the letter without its value")
            return
        }
        #expect(bare.topic == "p.dlq" && bare.value == nil && bare.key == Self.event.key)
        #expect(bare.headers.last?.name == "__tributary.errors.value_omitted")
        #expect(String(decoding: bare.headers.last?.value ?? [], as: UTF8.self) == "10 bytes, refused by Kafka: too large")
        let refusedAgain = SinkFailure(message: "too large", isPermanent: true, event: bare)
        #expect(policy.action(for: refusedAgain, lsn: nil, table: "p.dlq") == .fail)
    }
}
