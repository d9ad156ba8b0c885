/// One Kafka record: the topic, the encoded key and value (nil = JSON null / tombstone) and headers.
public struct ChangeEvent: Sendable, Equatable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]
    public var operation: ChangeOperation?

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: [UInt8]

        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    public init(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [Header] = [], operation: ChangeOperation?) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.operation = operation
    }
}

/// The `op` of a Debezium event.
public enum ChangeOperation: String, Sendable, CaseIterable {
    case create = "c"
    case update = "u"
    case delete = "d"
    case truncate = "t"
    case read = "r"
    case message = "m"
}

/// What the builder needs to know of a table beyond its Relation message, read from the catalog.
public struct TableMetadata: Sendable, Equatable {
    /// Primary-key columns in key order; empty for a table without a primary key.
    public var primaryKey: [String]
    /// Columns declared NOT NULL.
    public var notNull: Set<String>

    public init(primaryKey: [String], notNull: Set<String>) {
        self.primaryKey = primaryKey
        self.notNull = notNull
    }
}

/// Settings that shape every event of a connector.
public struct EventSettings: Sendable {
    public var topicPrefix: String
    public var databaseName: String
    /// Wrap key and value as Kafka Connect's JsonConverter does with `schemas.enable=true`.
    public var schemas: Bool
    public var tombstones: Bool
    public var skippedOperations: Set<ChangeOperation>
    /// `source.version`.
    public var version: String

    public init(
        topicPrefix: String, databaseName: String, schemas: Bool = false, tombstones: Bool = true,
        skippedOperations: Set<ChangeOperation> = [.truncate], version: String
    ) {
        self.topicPrefix = topicPrefix
        self.databaseName = databaseName
        self.schemas = schemas
        self.tombstones = tombstones
        self.skippedOperations = skippedOperations
        self.version = version
    }
}
