public import ChangeEvents
public import PGOutput

/// One connector file, validated and with every default filled in.
public struct ConnectorConfig: Sendable {
    public var name: String
    public var postgres: Postgres
    public var kafka: Kafka
    public var events: Events
    public var snapshot: Snapshot
    public var errors: Errors = Errors()
    public var heartbeat: Heartbeat = Heartbeat()
    /// Applied to every event after it is written, in order.
    public var transforms: [TransformConfig] = []
    /// nil = off: messages of any prefix are events.
    public var correlation: Correlation?
    /// The schema registry the Avro formats register with; nil when no format is Avro.
    public var schemaRegistry: SchemaRegistry?
    /// Where signals come from (Debezium's `signal.*`).
    public var signals: Signals = Signals()
    /// How incremental snapshots read (Debezium's `incremental.snapshot.*`).
    public var incrementalSnapshot: IncrementalSnapshotSettings = IncrementalSnapshotSettings()
    /// The file it came from, for messages.
    public var sourceFile: String

    public struct Postgres: Sendable {
        /// A libpq URI or key=value string; may hold a password, so never log it as is (see `redactedURL`).
        public var url: String
        public var password: String?
        public var slot: String
        public var publication: String
        public var publicationMode: PublicationMode
        /// Tables to capture; empty = every table of the publication.
        public var tables: [TableName]
        /// Tables never captured, neither snapshotted nor streamed.
        public var excludedTables: [TableName]
        /// How often a standby status update is sent even when nothing changed.
        public var statusInterval: Duration = Postgres.defaultStatusInterval
        /// How long the replication stream, or a catalog query made while streaming, may stay silent before the
        /// connection is taken for dead and the session starts again. While the stream is quiet the connector asks
        /// the server for a keepalive, so a healthy idle server is never silent that long.
        public var receiveTimeout: Duration = Postgres.defaultReceiveTimeout

        public static let defaultStatusInterval: Duration = .seconds(10)
        public static let defaultReceiveTimeout: Duration = .seconds(60)
        /// Debezium's `schema.include.list`, `schema.exclude.list`, `table.include.list` and `table.exclude.list`:
        /// regular expressions matched, ignoring case, against the whole schema name or `schema.table`.
        public var tablePatterns = TablePatterns()
        /// Debezium's `message.key.columns`: record keys from other columns than the primary key.
        public var messageKeyColumns = MessageKeyColumns()
        /// Debezium's `column.include.list` / `column.exclude.list`.
        public var columnFilter = ColumnFilter()
        /// Row filters: SQL conditions the publication's `WHERE` clauses hold (PostgreSQL 15+), by table.
        public var rowFilters: [TableName: String] = [:]
        /// Debezium's `slot.failover`: the slot is created as a failover slot (PostgreSQL 17+), which standbys with
        /// `sync_replication_slots` keep a copy of, so a promoted standby continues it.
        public var failoverSlot = false
        /// The managed publication sends stored generated columns (`publish_generated_columns = stored`, PostgreSQL
        /// 18+), so streamed events carry them as snapshots do.
        public var publishGeneratedColumns = false
        /// pgoutput's `binary` option (PostgreSQL 14+): the server sends values in their types' send format, which
        /// costs it less than their text; the connector reads them back as the same text, so events are the same.
        public var pgoutputBinary = false

        /// A table's metadata as the file shapes it: its key columns (`message_key_columns`), then the columns its
        /// events leave out.
        public func shaped(_ metadata: TableMetadata, relation: Relation) throws(ConnectorError) -> TableMetadata {
            try columnFilter.applied(to: messageKeyColumns.applied(to: metadata, relation: relation), relation: relation)
        }
        /// What to do when the slot cannot continue what the connector last confirmed; nil = the snapshot mode's default.
        public var onSlotLost: SlotLostAction?
    }

    /// The regular-expression table filters, as Debezium reads them; empty lists filter nothing.
    public struct TablePatterns: Sendable, Equatable {
        public var schemaInclude: [String] = []
        public var schemaExclude: [String] = []
        public var tableInclude: [String] = []
        public var tableExclude: [String] = []

        public init(
            schemaInclude: [String] = [], schemaExclude: [String] = [], tableInclude: [String] = [],
            tableExclude: [String] = []
        ) {
            self.schemaInclude = schemaInclude
            self.schemaExclude = schemaExclude
            self.tableInclude = tableInclude
            self.tableExclude = tableExclude
        }

        public var isEmpty: Bool {
            schemaInclude.isEmpty && schemaExclude.isEmpty && tableInclude.isEmpty && tableExclude.isEmpty
        }
    }

    /// What a connector does when its slot is gone, invalidated, moved past what it confirmed, or on another cluster.
    public enum SlotLostAction: String, Sendable, CaseIterable {
        /// Stop in `failed`, saying what was lost, until the file says otherwise.
        case fail
        /// Read every captured table again, then stream from the new slot.
        case snapshot
        /// Stream on from the new position; the gap is logged as an error and counted in `/metrics`.
        case acceptGap = "accept_gap"

        /// The safe choice for a snapshot mode: modes that read the tables when the slot is new snapshot again;
        /// the others fail.
        public static func `default`(for mode: SnapshotMode) -> SlotLostAction {
            switch mode {
            case .whenNeeded, .always: .snapshot
            case .initial, .noData, .initialOnly: .fail
            }
        }
    }

    /// `postgres.on_slot_lost`, or the snapshot mode's default.
    public var slotLostAction: SlotLostAction {
        postgres.onSlotLost ?? .default(for: snapshot.mode)
    }

    public enum PublicationMode: String, Sendable, CaseIterable {
        case filtered
        case allTables = "all_tables"
        case existing
    }

    public struct Kafka: Sendable {
        /// `host:port,…` or `embedded` for an in-process cluster.
        public var bootstrapServers: String
        public var topicPrefix: String
        /// Passed verbatim to librdkafka, in file order.
        public var properties: [(String, String)]
        /// Events sent and not yet acknowledged before reading from PostgreSQL pauses.
        public var maxInFlight: Int = Kafka.defaultMaxInFlight
        /// Bytes (keys and values) sent and not yet acknowledged before reading from PostgreSQL pauses.
        public var maxInFlightBytes: Int = Kafka.defaultMaxInFlightBytes
        /// Each record carries its source position in a header, and a session starting from the slot reads Kafka's
        /// tails to leave out what Kafka already holds; off, a crash may write in-flight changes twice (at least once).
        public var exactlyOnce = true

        public static let defaultMaxInFlight = 100_000
        public static let defaultMaxInFlightBytes = 64 << 20

        public var isEmbedded: Bool { bootstrapServers == "embedded" }
    }

    /// What the events look like; the defaults are Debezium's.
    public struct Events: Sendable {
        public var schemas = false
        public var tombstones = true
        public var skippedOperations: Set<ChangeOperation> = [.truncate]
        /// Debezium's context headers on every data event (`extended.headers.enabled`).
        public var contextHeaders = true
        /// Debezium's decimal, time, binary, interval and hstore handling modes and the TOAST placeholder.
        public var values = ValueHandling()
        /// What a data event's value is: Debezium's envelope, or a CloudEvent around it.
        public var format = Format.debezium
        /// The CloudEvents converter's options, with `format: cloudevents`.
        public var cloudEvents = CloudEvents.Options()
        /// Debezium's transaction metadata (`provide.transaction.metadata`): `BEGIN` and `END` records on the transaction
        /// topic, and each data event's `transaction` block.
        public var transactionMetadata = false
        /// The transaction topic (Debezium's `topic.transaction`); nil = `<topic_prefix>.transaction`.
        public var transactionTopic: String?
        /// How keys and values are serialised: JSON (as JsonConverter, `schemas` says whether with schemas), or Avro
        /// through the schema registry (as Confluent's AvroConverter).
        public var keyFormat = Serialization.json
        public var valueFormat = Serialization.json

        /// Whether either side is Avro: events are then written with their Connect schemas, which Avro is derived from.
        public var usesAvro: Bool { keyFormat == .avro || valueFormat == .avro }

        public init() {}
    }

    public enum Serialization: String, Sendable, CaseIterable {
        case json
        case avro
    }

    /// A Confluent-compatible schema registry (Confluent's `schema.registry.url` and the options beside it).
    public struct SchemaRegistry: Sendable, Equatable {
        /// One or more base URLs, tried in order.
        public var urls: [String]
        /// `user:password` for HTTP basic authentication (`basic.auth.user.info`).
        public var basicAuth: String?
        /// A bearer token (`bearer.auth.token`).
        public var bearerToken: String?
        /// PEM files: the CA to trust, and a client certificate and its key.
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var timeout: Duration = .seconds(30)
        /// Register new schemas (`auto.register.schemas`); off, a schema must be registered already.
        public var autoRegister = true
        /// Write with the subject's latest version instead of the event's own schema (`use.latest.version`).
        public var useLatestVersion = false
        public var keySubjectStrategy = AvroConversion.SubjectStrategy.topicName
        public var valueSubjectStrategy = AvroConversion.SubjectStrategy.topicName

        public init(urls: [String]) { self.urls = urls }
    }

    public enum Format: String, Sendable, CaseIterable {
        /// Debezium's envelope, as Kafka Connect's JsonConverter writes it.
        case debezium
        /// Debezium's `io.debezium.converters.CloudEventsConverter`, JSON in structured mode.
        case cloudevents
    }

    public struct Snapshot: Sendable {
        public var mode: SnapshotMode = .initial
        /// Where the connector remembers which tables a snapshot completed, and its slot record.
        public var stateDirectory = "state"
        /// Connections reading in parallel (tables, and page ranges of large tables).
        public var maxThreads: Int = 2
        /// Tables of at least twice this many pages (8 kB each) are read in page ranges by several readers.
        public var rangePages: Int = 2048
        /// A query to read instead of the whole table (Debezium's `snapshot.select.statement.overrides`).
        public var selectOverrides: [TableName: String] = [:]

        public init() {}

        /// The most readers `snapshot.max_threads` may ask for.
        public static let maxThreadsLimit = 64
    }

    /// What happens when Kafka refuses an event for good, and how a failed session is retried.
    public struct Errors: Sendable {
        public var mode: ErrorMode = .fail
        /// Where `dead_letter` sends refused events; nil = `<topic_prefix>.dlq`.
        public var deadLetterTopic: String?
        /// First wait before reconnecting after a failed session; doubles (with ±20 % jitter) up to `retryMaxBackoff`.
        public var retryBackoff: Duration = .seconds(1)
        public var retryMaxBackoff: Duration = .seconds(30)

        public init() {}
    }

    public enum ErrorMode: String, Sendable, CaseIterable {
        /// Stop, and never confirm past the refused event (Debezium's `errors.tolerance: none`).
        case fail
        /// Log and count the event, then go on.
        case skip
        /// Send the event to the dead-letter topic with headers saying why, then go on.
        case deadLetter = "dead_letter"
    }

    /// Correlation ids and trace context set by the application once per transaction, with a transactional logical
    /// message, and carried as headers by every event of the transaction that follows it.
    public struct Correlation: Sendable, Equatable {
        public static let defaultPrefix = "tributary.context"
        /// The logical message prefix that sets the context; such messages are consumed, never emitted.
        public var messagePrefix: String = Correlation.defaultPrefix
        /// Keys of the message's JSON object → header names; empty = every string key under its own name.
        public var headers: [(key: String, header: String)] = []

        public static func == (lhs: Correlation, rhs: Correlation) -> Bool {
            lhs.messagePrefix == rhs.messagePrefix && lhs.headers.elementsEqual(rhs.headers) { $0 == $1 }
        }
    }

    /// Keeps a slot moving while the captured tables are idle.
    public struct Signals: Sendable {
        /// The signal table (`signal.data.collection`): columns `id`, `type`, `data`; a row inserted is a signal.
        public var dataCollection: TableName?
        /// Signals posted to `POST /connectors/<name>/signals` on the HTTP endpoint are acted on.
        public var http = false
        /// The signal topic (`signal.kafka.topic`): records keyed by the topic prefix, `{"id", "type", "data"}`.
        public var kafkaTopic: String?
        /// Where the signal topic is (`signal.kafka.bootstrap.servers`); nil: `kafka.bootstrap_servers`.
        public var kafkaBootstrapServers: String?

        public init() {}
    }

    public struct IncrementalSnapshotSettings: Sendable {
        /// Rows per chunk (`incremental.snapshot.chunk.size`).
        public var chunkSize = 1024
        /// Debezium's `read.only`: watermarks from the chunk read's own snapshot (`pg_current_snapshot()`) and the WAL
        /// position after it, so nothing is written to the database.
        public var readOnly = false

        public init() {}
    }

    public struct Heartbeat: Sendable {
        /// nil = off (Debezium's `heartbeat.interval.ms: 0`).
        public var interval: Duration?
        /// Run instead of `pg_logical_emit_message` on each beat (Debezium's `heartbeat.action.query`).
        public var actionQuery: String?
    }

    public enum SnapshotMode: String, Sendable, CaseIterable {
        case initial
        case noData = "no_data"
        case initialOnly = "initial_only"
        case whenNeeded = "when_needed"
        case always
    }

    /// The URL with any password replaced by `****`, safe for logs and status.
    public var redactedURL: String {
        Redaction.redact(conninfo: postgres.url)
    }
}

enum Redaction {
    /// Hides the password of a libpq URI (`postgresql://user:secret@host`) or key=value string (`password=secret`).
    static func redact(conninfo: String) -> String {
        if let scheme = conninfo.range(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            if let at = rest.firstIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                return String(conninfo[..<rest.index(after: colon)]) + "****" + String(rest[at...])
            }
            if let query = rest.range(of: "password=") {
                let end = rest[query.upperBound...].firstIndex(of: "&") ?? rest.endIndex
                return String(conninfo[..<query.upperBound]) + "****" + String(rest[end...])
            }
            return conninfo
        }
        guard let range = conninfo.range(of: "password") else { return conninfo }
        var index = range.upperBound
        while index < conninfo.endIndex, conninfo[index] == " " || conninfo[index] == "=" { index = conninfo.index(after: index) }
        var end = index
        if end < conninfo.endIndex, conninfo[end] == "'" {
            end = conninfo.index(after: end)
            while end < conninfo.endIndex, conninfo[end] != "'" { end = conninfo.index(after: end) }
            if end < conninfo.endIndex { end = conninfo.index(after: end) }
        } else {
            while end < conninfo.endIndex, conninfo[end] != " " { end = conninfo.index(after: end) }
        }
        return String(conninfo[..<index]) + "****" + String(conninfo[end...])
    }
}
