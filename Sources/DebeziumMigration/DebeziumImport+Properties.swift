extension DebeziumImport {
    /// What the import does with one property of a Debezium PostgreSQL connector configuration.
    public enum Treatment: Sendable, Equatable {
        /// Becomes a connector-file key with the same effect on the records (values it cannot honour are refused).
        case mapped
        /// Changes nothing a consumer or the database sees: imported as a note saying why.
        case harmless(String)
        /// Would change which records are written, what they hold, or a delivery guarantee, and Tributary does not do
        /// it: the import fails, saying what to do, unless the value is one of `allowed` (Debezium's default and its
        /// equivalents, which change nothing).
        case refused(allowed: Set<String>, advice: String)
    }

    /// How the import treats `property`; nil for a property that is neither Debezium's nor Kafka Connect's.
    ///
    /// Covers every property of Debezium 3.6's PostgreSQL connector (its ConfigDef and the ones it reads outside
    /// it), Kafka Connect's source-connector properties and JsonConverter's, as listed in
    /// `Tests/DebeziumMigrationTests/Fixtures/debezium-properties.tsv` (made by `tools/debezium-reference/ListProperties.java`).
    public static func treatment(of property: String) -> Treatment? {
        if let treatment = exactTreatments[property] { return treatment }
        for (prefix, treatment) in prefixTreatments where property.hasPrefix(prefix) { return treatment }
        return nil
    }

    /// What Tributary says of a property that is not Debezium's, when it knows the property's newer name.
    static let renamedProperties: [String: String] = [
        "table.whitelist": "table.include.list", "table.blacklist": "table.exclude.list",
        "schema.whitelist": "schema.include.list", "schema.blacklist": "schema.exclude.list",
        "column.whitelist": "column.include.list", "column.blacklist": "column.exclude.list",
        "database.whitelist": "database.include.list", "database.blacklist": "database.exclude.list",
        "toasted.value.placeholder": "unavailable.value.placeholder", "database.history": "schema.history.internal",
    ]

    private static func harmless(_ why: String) -> Treatment { .harmless(why) }

    private static func refused(_ allowed: Set<String>, _ advice: String) -> Treatment {
        .refused(allowed: allowed, advice: advice)
    }

    private static let predicatesAdvice =
        "predicates choose which records transforms change; Tributary runs every transform on every record"
    private static let tuning = harmless("tunes Debezium's own batching, queues or timing; Tributary has its own")
    private static let onlyWithRefused = harmless("read only together with a setting the import refuses")
    private static let jdbc = harmless(
        "a JDBC driver setting; libpq has its own (connect_timeout, keepalives, …) in postgres.url where needed")
    private static let metrics = harmless("Debezium's JMX metrics and logs; Tributary serves /metrics and logs of its own")

    static let exactTreatments: [String: Treatment] = [
        // Connection
        "name": .mapped, "connector.class": .mapped, "database.hostname": .mapped, "database.port": .mapped,
        "database.user": .mapped, "database.password": .mapped, "database.dbname": .mapped, "database.sslmode": .mapped,
        "database.sslrootcert": .mapped, "database.sslcert": .mapped, "database.sslkey": .mapped,
        "database.connectTimeout": .mapped, "database.server.name": .mapped, "topic.prefix": .mapped,
        "database.sslpassword": harmless("libpq reads the key's passphrase as sslpassword=… in postgres.url; add it there"),
        "database.sslfactory": harmless("a Java TLS class; libpq's TLS is set with sslmode and sslrootcert in postgres.url"),
        "database.tcpKeepAlive": harmless("Tributary's connections always use TCP keepalives"),
        "database.query.timeout.ms": jdbc, "connection.validation.timeout.ms": jdbc, "connection.timeout.ms": jdbc,
        "connection.factory.class": jdbc, "query.timeout.ms": jdbc, "create.slot.command.timeout": jdbc,
        "database.initial.statements": refused(
            [""],
            "it runs SQL on each of Debezium's connections, and Tributary runs none; remove it if it only tunes the "
                + "session, or make those settings the role's defaults (ALTER ROLE … SET …)"),
        "plugin.name": .mapped, "slot.name": .mapped, "publication.name": .mapped, "publication.autocreate.mode": .mapped,
        "status.update.interval.ms": .mapped,
        "slot.drop.on.stop": harmless(
            "Tributary keeps its slot when it stops, so nothing is lost between runs; drop the slot by hand when retiring it"),
        "slot.max.retries": tuning, "slot.retry.delay.ms": tuning, "slot.seek.to.known.offset.on.start": tuning,
        "slot.failover": .mapped,
        "slot.stream.params": refused([""], "it passes options to the decoding plugin; Tributary passes pgoutput's own only"),
        "lsn.flush.mode": refused(
            ["", "connector", "connector_and_driver"],
            "with manual, Debezium never confirms positions to the slot; Tributary always does, as the slot is where it "
                + "keeps its position"),
        "flush.lsn.source": refused(
            ["true"],
            "with false, Debezium never confirms positions to the slot; Tributary always does, as the slot is where it "
                + "keeps its position"),
        "lsn.flush.timeout.ms": tuning, "lsn.flush.timeout.action": tuning,
        "offset.mismatch.strategy": harmless(
            "Tributary compares the slot with the position it recorded at every start and does what "
                + "postgres.on_slot_lost says when they disagree"),
        "xmin.fetch.interval.ms": refused(["0"], "it fills source.xmin, which Tributary leaves null"),
        "replica.identity.autoset.values": refused(
            [""],
            "Debezium would ALTER the tables' REPLICA IDENTITY, which changes what `before` holds; run ALTER TABLE … "
                + "REPLICA IDENTITY … yourself and remove the property"),
        "publish.via.partition.root": refused(
            ["false"], "it publishes partitions' changes under their root table's topic; Tributary publishes each partition"),

        // What is captured
        "table.include.list": .mapped, "table.exclude.list": .mapped, "schema.include.list": .mapped,
        "schema.exclude.list": .mapped,
        "table.ignore.builtin": harmless("PostgreSQL publications never hold system tables"),
        "database.include.list": refused([""], "a PostgreSQL connector captures one database, the one in database.dbname"),
        "database.exclude.list": refused([""], "a PostgreSQL connector captures one database, the one in database.dbname"),
        "column.propagate.source.type": refused([""], "it adds __debezium.source.column.* schema parameters; Tributary does not"),
        "datatype.propagate.source.type": refused(
            [""], "it adds __debezium.source.column.* schema parameters; Tributary does not"),
        "message.prefix.include.list": refused([""], "it filters logical decoding messages; Tributary publishes every one"),
        "message.prefix.exclude.list": refused([""], "it filters logical decoding messages; Tributary publishes every one"),
        "skipped.operations": .mapped,
        "skip.messages.without.change": refused(
            ["false"], "it drops updates that change no captured column; Tributary publishes every update"),

        // Values and schemas
        "decimal.handling.mode": .mapped, "time.precision.mode": .mapped, "binary.handling.mode": .mapped,
        "interval.handling.mode": .mapped, "hstore.handling.mode": .mapped, "unavailable.value.placeholder": .mapped,
        "tombstones.on.delete": .mapped,
        "money.fraction.digits": refused(["2"], "it changes the scale of money values; Tributary writes them with 2 digits"),
        "include.unknown.datatypes": refused(
            ["false"], "it publishes columns of unknown types as raw bytes; Tributary maps the built-in types only"),
        "include.schema.comments": refused(["false"], "it adds column comments to the schemas; Tributary does not"),
        "include.schema.changes": harmless("the PostgreSQL connector writes no schema-change events"),
        "schema.name.adjustment.mode": refused(
            ["none"], "it rewrites schema names for Avro; Tributary writes them as Debezium's default does"),
        "field.name.adjustment.mode": refused(
            ["none"], "it rewrites field names for Avro; Tributary writes them as Debezium's default does"),
        "schema.refresh.mode": refused(
            ["columns_diff"], "it changes how unchanged TOAST columns are told apart from schema changes"),
        "converters": refused([""], "custom value converters change the values; Tributary has none"),
        "post.processors": refused([""], "post processors change the events (re-selecting columns); Tributary has none"),
        "reselect.error.handling.mode": onlyWithRefused,
        "sourceinfo.struct.maker": refused(
            ["io.debezium.connector.postgresql.PostgresSourceInfoStructMaker"],
            "it changes the source block; Tributary writes Debezium's default one"),
        "event.processing.failure.handling.mode": refused(
            ["fail"],
            "with warn or skip, Debezium drops events it cannot process; Tributary stops instead, and refused events go "
                + "through errors.mode"),
        "event.converting.failure.handling.mode": harmless(
            "Tributary stops on a value it cannot encode instead of writing null for it"),
        "extended.headers.enabled": .mapped,

        // Topics
        "topic.naming.strategy": refused(
            ["io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy"],
            "it changes the topic names; Tributary names topics <topic.prefix>.<schema>.<table>"),
        "topic.delimiter": refused(["."], "it changes the topic names; Tributary joins them with '.'"),
        "topic.cache.size": tuning,
        "heartbeat.interval.ms": .mapped, "heartbeat.action.query": .mapped,
        "heartbeat.topics.prefix": harmless(
            "names Debezium's heartbeat topic; Tributary keeps the slot moving without writing heartbeat records"),
        "topic.heartbeat.prefix": harmless(
            "names Debezium's heartbeat topic; Tributary keeps the slot moving without writing heartbeat records"),
        "topic.heartbeat.name": harmless(
            "names Debezium's heartbeat topic; Tributary keeps the slot moving without writing heartbeat records"),
        "provide.transaction.metadata": .mapped, "topic.transaction": .mapped,
        "transaction.metadata.factory": refused(
            ["io.debezium.pipeline.txmetadata.DefaultTransactionMetadataFactory"],
            "another factory changes the transaction block and records; Tributary writes the default factory's"),

        // Snapshots
        "snapshot.mode": .mapped, "snapshot.max.threads": .mapped, "snapshot.select.statement.overrides": .mapped,
        "snapshot.include.collection.list": refused(
            [""], "it snapshots only some of the captured tables; Tributary snapshots every captured table"),
        "snapshot.query.mode": refused(["select_all"], "a custom snapshot query changes the rows read"),
        "snapshot.query.mode.custom.name": onlyWithRefused, "snapshot.mode.custom.name": onlyWithRefused,
        "snapshot.locking.mode": harmless(
            "locks tables while a snapshot reads their schema; Tributary reads in the slot's snapshot"),
        "snapshot.locking.mode.custom.name": harmless("locks tables while a snapshot reads their schema"),
        "snapshot.lock.timeout.ms": tuning, "snapshot.delay.ms": tuning, "snapshot.fetch.size": tuning,
        "query.fetch.size": tuning,
        "snapshot.isolation.mode": harmless("Tributary reads in the slot's exported snapshot, at REPEATABLE READ"),
        "snapshot.max.threads.multiplier": tuning, "snapshot.tables.order.by.row.count": tuning,
        "snapshot.scan.all.columns.force": tuning, "legacy.snapshot.max.threads": tuning,
        "streaming.delay.ms": tuning,
        "incremental.snapshot.chunk.size": .mapped, "read.only": .mapped, "message.key.columns": .mapped,
        "column.include.list": .mapped, "column.exclude.list": .mapped,
        "incremental.snapshot.watermarking.strategy": harmless(
            "Tributary's watermarks are logical messages in the change stream; it writes no rows to the signal table"),
        "incremental.snapshot.allow.schema.changes": refused(
            ["", "false"], "a chunk is not read again after a schema change; Tributary reads each chunk once"),
        "signal.data.collection": .mapped,
        "signal.enabled.channels": .mapped,
        "signal.kafka.topic": harmless("read with signal.enabled.channels holding kafka: it becomes signals.kafka_topic"),
        "signal.kafka.bootstrap.servers": harmless(
            "read with signal.enabled.channels holding kafka: it becomes signals.kafka_bootstrap_servers"),
        "signal.kafka.groupId": harmless("Tributary keeps where it read the signal topic in its state directory, not in a group"),
        "signal.kafka.poll.timeout.ms": tuning,
        "signal.poll.interval.ms": harmless("the signal table is read from the change stream, not polled"),
        "notification.enabled.channels": refused(
            ["", "log", "jmx", "log,jmx", "jmx,log"], "the sink channel writes notification records; Tributary writes none"),
        "notification.sink.topic.name": onlyWithRefused,

        // Running
        "tasks.max": harmless("a PostgreSQL connector runs one task"),
        "tasks.max.enforce": harmless("a PostgreSQL connector runs one task"),
        "max.batch.size": tuning, "max.queue.size": tuning, "max.queue.size.in.bytes": tuning, "poll.interval.ms": tuning,
        "queue.provider.type": tuning, "retriable.restart.connector.wait.ms": tuning,
        "executor.shutdown.timeout.ms": tuning, "memory.management.schemas.class": tuning,
        "memory.management.tables.class": tuning,
        "errors.max.retries": harmless("Tributary retries a failed session with back-off until it is stopped"),
        "custom.retriable.exception": harmless("Tributary decides what to retry by PostgreSQL's and librdkafka's error codes"),
        "guardrail.collections.max": harmless("a limit on the number of tables captured; Tributary has none"),
        "guardrail.collections.limit.action": harmless("a limit on the number of tables captured; Tributary has none"),
        "custom.metric.tags": metrics, "custom.sanitize.pattern": metrics, "statistics.metrics.enabled": metrics,
        "advanced.metrics.enable": metrics, "log.position.check.enable": metrics,
        "unknown.properties.ignored": harmless("Debezium's tolerance of unknown properties; the import refuses them"),
        "openlineage.integration.enabled": refused(["false"], "Tributary emits no OpenLineage events"),
        "schema.history.internal": harmless("the PostgreSQL connector keeps no schema history"),

        // Kafka Connect
        "key.converter": .mapped, "value.converter": .mapped,
        "key.converter.schemas.enable": .mapped, "value.converter.schemas.enable": .mapped,
        // Confluent's AvroConverter and its registry client, mapped to schema_registry.
        "key.converter.schema.registry.url": .mapped, "value.converter.schema.registry.url": .mapped,
        "key.converter.basic.auth.user.info": .mapped, "value.converter.basic.auth.user.info": .mapped,
        "key.converter.basic.auth.credentials.source": .mapped, "value.converter.basic.auth.credentials.source": .mapped,
        "key.converter.bearer.auth.token": .mapped, "value.converter.bearer.auth.token": .mapped,
        "key.converter.schema.registry.ssl.truststore.location": .mapped,
        "value.converter.schema.registry.ssl.truststore.location": .mapped,
        "key.converter.auto.register.schemas": .mapped, "value.converter.auto.register.schemas": .mapped,
        "key.converter.use.latest.version": .mapped, "value.converter.use.latest.version": .mapped,
        "key.converter.key.subject.name.strategy": .mapped, "value.converter.value.subject.name.strategy": .mapped,
        "key.converter.connect.meta.data": refused(
            ["true"], "without Connect metadata the registered schemas differ from Debezium's"),
        "value.converter.connect.meta.data": refused(
            ["true"], "without Connect metadata the registered schemas differ from Debezium's"),
        "key.converter.enhanced.avro.schema.support": refused(["false"], "enhanced schema support is not implemented"),
        "value.converter.enhanced.avro.schema.support": refused(["false"], "enhanced schema support is not implemented"),
        "key.converter.decimal.format": refused(["BASE64"], "NUMERIC writes decimals as JSON numbers; Tributary writes base64"),
        "value.converter.decimal.format": refused(
            ["BASE64"], "NUMERIC writes decimals as JSON numbers; Tributary writes base64"),
        "key.converter.replace.null.with.default": refused(
            ["true"], "false keeps nulls where a column has a default; Tributary writes what JsonConverter's default does"),
        "value.converter.replace.null.with.default": refused(
            ["true"], "false keeps nulls where a column has a default; Tributary writes what JsonConverter's default does"),
        "header.converter": refused(
            ["", "org.apache.kafka.connect.storage.SimpleHeaderConverter"],
            "it changes how headers are written; Tributary writes them as SimpleHeaderConverter does"),
        // Debezium's CloudEventsConverter as value.converter, and the JsonConverter of its data attribute (json.*)
        "value.converter.serializer.type": refused(
            ["json"], "Avro CloudEvents go through a schema registry; Tributary writes CloudEvents as JSON"),
        "value.converter.data.serializer.type": refused(
            ["json"], "Avro data goes through a schema registry; Tributary writes the data attribute as JSON"),
        "value.converter.json.schemas.enable": .mapped,
        "value.converter.extension.attributes.enable": .mapped,
        "value.converter.opentelemetry.tracing.attributes.enable": .mapped,
        "value.converter.metadata.source": refused(
            ["value", "value,id:generate,type:generate,traceparent:header,dataSchemaName:generate"],
            "Tributary takes CloudEvents attributes from the event value (traceparent from its header), not from headers"),
        "value.converter.schema.data.name.source.header.enable": refused(
            ["false"], "Tributary names the data schema io.debezium.connector.postgresql.Data, not from a header"),
        "value.converter.schema.name.adjustment.mode": harmless(
            "it adjusts the CloudEvents schema's name, which JSON CloudEvents do not carry"),
        "value.converter.schema.cloudevents.name": harmless(
            "it names the CloudEvents schema, which JSON CloudEvents do not carry"),
        "value.converter.json.decimal.format": refused(
            ["BASE64"], "NUMERIC writes decimals as JSON numbers; Tributary writes base64"),
        "value.converter.json.replace.null.with.default": refused(
            ["true"], "false keeps nulls where a column has a default; Tributary writes what JsonConverter's default does"),
        "transforms": .mapped,
        "predicates": refused([""], predicatesAdvice),
        "errors.tolerance": .mapped, "errors.deadletterqueue.topic.name": .mapped,
        "errors.retry.delay.initial.ms": .mapped, "errors.retry.delay.max.ms": .mapped,
        "errors.retry.timeout": harmless("Tributary retries a failed session with back-off until it is stopped"),
        "errors.log.enable": harmless("Tributary logs every refused event"),
        "errors.log.include.messages": harmless("Tributary logs every refused event"),
        "errors.deadletterqueue.topic.replication.factor": harmless("a topic setting for Kafka"),
        "errors.deadletterqueue.context.headers.enable": harmless(
            "Tributary's dead-letter records always carry headers saying why"),
        "exactly.once.support": harmless(
            "Tributary writes each change once without Kafka transactions (it reads back what Kafka holds before a "
                + "replay), so consumers need no read_committed"),
        "transaction.boundary": harmless("acts only with exactly-once support on the worker"),
        "transaction.boundary.interval.ms": harmless("acts only with exactly-once support on the worker"),
        "offsets.storage.topic": harmless("Tributary keeps its position in the slot"),
        "config.action.reload": harmless("a Kafka Connect worker setting"),
        "connector.plugin.version": harmless("a Kafka Connect worker setting"),
        "key.converter.plugin.version": harmless("a Kafka Connect worker setting"),
        "value.converter.plugin.version": harmless("a Kafka Connect worker setting"),
        "header.converter.plugin.version": harmless("a Kafka Connect worker setting"),
        "topic.creation.groups": harmless("topic settings for Kafka; create the topics with them beforehand"),
    ]

    /// Families of properties, longest prefix first where two overlap.
    static let prefixTreatments: [(String, Treatment)] = [
        ("snapshot.select.statement.overrides.", .mapped),
        ("producer.override.", .mapped),
        ("consumer.override.", harmless("Tributary reads nothing from Kafka but the signal topic")),
        ("signal.consumer.", harmless("the signal topic is read with kafka.properties' security settings")),
        ("admin.override.", harmless("Tributary makes no admin requests; create topics beforehand")),
        ("topic.creation.", harmless("topic settings for Kafka; create the topics with them beforehand")),
        ("transforms.", .mapped),
        ("predicates.", refused([""], predicatesAdvice)),
        ("column.mask.", refused([""], "it masks column values; Tributary publishes them as they are")),
        ("column.truncate.", refused([""], "it truncates column values; Tributary publishes them whole")),
        ("snapshot.mode.configuration.based.", onlyWithRefused),
        ("openlineage.", harmless("Tributary emits no OpenLineage events")),
        ("internal.", harmless("Debezium's internal settings")),
        ("offset.", harmless("Tributary keeps its position in the slot")),
        ("key.converter.", harmless("a converter setting that does not change what JsonConverter writes")),
        ("value.converter.", harmless("a converter setting that does not change what JsonConverter writes")),
        ("header.converter.", harmless("a header converter setting")),
        ("errors.", harmless("a Kafka Connect error-reporting setting")),
        ("database.", jdbc),
    ]
}
