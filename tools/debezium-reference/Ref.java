import io.debezium.engine.*;
import io.debezium.engine.format.*;
import java.util.*;
import java.util.concurrent.*;
import java.io.*;

public class Ref {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.setProperty("name", "ref");
    p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
    p.setProperty("offset.storage.file.filename", "/tmp/dbz/offsets.dat");
    p.setProperty("offset.flush.interval.ms", "1000");
    p.setProperty("topic.prefix", "dbz");
    p.setProperty("database.hostname", "127.0.0.1");
    p.setProperty("database.port", System.getenv().getOrDefault("PGPORT","55432"));
    p.setProperty("database.user", "postgres");
    p.setProperty("database.password", "x");
    p.setProperty("database.dbname", System.getenv().getOrDefault("PGDB","postgres"));
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", "dbzref");
    p.setProperty("publication.name", "dbzpub");
    p.setProperty("publication.autocreate.mode", "all_tables");
    p.setProperty("snapshot.mode", System.getenv().getOrDefault("SNAP","no_data"));
    p.setProperty("converter.schemas.enable", System.getenv().getOrDefault("SCHEMAS","false"));
    // VALUE_FORMAT=cloudevents: the value through io.debezium.converters.CloudEventsConverter, whose data
    // attribute carries schemas as json.schemas.enable says (JsonConverter's own default is true).
    boolean cloudEvents = "cloudevents".equals(System.getenv("VALUE_FORMAT"));
    if (cloudEvents) p.setProperty("value.converter.json.schemas.enable", System.getenv().getOrDefault("SCHEMAS","false"));
    for (String kv : a) { int i = kv.indexOf('='); p.setProperty(kv.substring(0,i), kv.substring(i+1)); }
    PrintStream out = new PrintStream(new FileOutputStream(System.getenv().getOrDefault("OUT","/tmp/out.jsonl"), true), true);
    if ("avro".equals(System.getenv("FORMAT"))) { avro(p, out); return; }
    // Headers reach the notifier only with a header format; JsonConverter writes them (with the schema envelope
    // when schemas are on). TypeFidelityTests unwraps them to what Kafka Connect's SimpleHeaderConverter writes.
    DebeziumEngine.Builder<ChangeEvent<String,String>> builder = cloudEvents
      ? DebeziumEngine.create(KeyValueHeaderChangeEventFormat.of(Json.class, CloudEvents.class, Json.class))
      : DebeziumEngine.create(KeyValueHeaderChangeEventFormat.of(Json.class, Json.class, Json.class));
    DebeziumEngine<ChangeEvent<String,String>> engine = builder
      .using(p)
      .notifying(r -> {
        StringBuilder h = new StringBuilder();
        for (Object o : r.headers()) { Header<?> hd = (Header<?>) o; h.append(hd.getKey()).append("=").append(hd.getValue()).append(";"); }
        // A value the converter wrote as the JSON text null (not a Kafka tombstone) is told apart from a tombstone.
        String value = r.value() == null ? "null" : r.value().equals("null") ? "json:null" : r.value();
        out.println("TOPIC " + r.destination() + "\nHEADERS " + h + "\nKEY " + r.key() + "\nVALUE " + value);
      }).build();
    ExecutorService ex = Executors.newSingleThreadExecutor();
    ex.execute(engine);
    System.out.println("engine started");
    Thread.sleep(Long.parseLong(System.getenv().getOrDefault("SECS","30")) * 1000);
    engine.close(); ex.shutdown();
  }

  static String hex(byte[] b) {
    if (b == null) return "null";
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  /// FORMAT=avro: key and value through Confluent's AvroConverter over an in-memory registry, as a Kafka Connect worker
  /// calls it (AvroConverter 7.0 does not take mock:// URLs itself); each record's bytes in hex, then every subject's
  /// versions as the registry holds them. AVRO_* environment variables become converter properties (AVRO_AUTO_REGISTER_SCHEMAS
  /// → auto.register.schemas), for both converters.
  static void avro(Properties p, PrintStream out) throws Exception {
    p.remove("converter.schemas.enable");
    io.confluent.kafka.schemaregistry.client.MockSchemaRegistryClient registry =
      new io.confluent.kafka.schemaregistry.client.MockSchemaRegistryClient();
    Map<String, Object> config = new HashMap<>();
    config.put("schema.registry.url", "http://registry.invalid");
    for (Map.Entry<String, String> e : System.getenv().entrySet()) {
      if (e.getKey().startsWith("AVRO_")) config.put(e.getKey().substring(5).toLowerCase().replace('_', '.'), e.getValue());
    }
    io.confluent.connect.avro.AvroConverter keys = new io.confluent.connect.avro.AvroConverter(registry);
    keys.configure(config, true);
    io.confluent.connect.avro.AvroConverter values = new io.confluent.connect.avro.AvroConverter(registry);
    values.configure(config, false);
    // The same records as JsonConverter writes them with schemas: the input a converter test turns into the bytes above.
    org.apache.kafka.connect.json.JsonConverter jsonKeys = new org.apache.kafka.connect.json.JsonConverter();
    jsonKeys.configure(Map.of("schemas.enable", "true"), true);
    org.apache.kafka.connect.json.JsonConverter jsonValues = new org.apache.kafka.connect.json.JsonConverter();
    jsonValues.configure(Map.of("schemas.enable", "true"), false);
    DebeziumEngine<RecordChangeEvent<org.apache.kafka.connect.source.SourceRecord>> engine = DebeziumEngine.create(ChangeEventFormat.of(io.debezium.embedded.Connect.class))
      .using(p)
      .notifying(r -> {
        org.apache.kafka.connect.source.SourceRecord record = r.record();
        StringBuilder h = new StringBuilder();
        for (org.apache.kafka.connect.header.Header hd : record.headers()) h.append(hd.key()).append("=").append(hd.value()).append(";");
        byte[] key = keys.fromConnectData(record.topic(), record.keySchema(), record.key());
        byte[] value = values.fromConnectData(record.topic(), record.valueSchema(), record.value());
        String keyJSON = record.key() == null ? "null" : new String(jsonKeys.fromConnectData(record.topic(), record.keySchema(), record.key()), java.nio.charset.StandardCharsets.UTF_8);
        String valueJSON = record.value() == null ? "null" : new String(jsonValues.fromConnectData(record.topic(), record.valueSchema(), record.value()), java.nio.charset.StandardCharsets.UTF_8);
        out.println("TOPIC " + record.topic() + "\nHEADERS " + h + "\nKEY " + hex(key) + "\nVALUE " + hex(value)
          + "\nKEYJSON " + keyJSON + "\nVALUEJSON " + valueJSON);
      }).build();
    ExecutorService ex = Executors.newSingleThreadExecutor();
    ex.execute(engine);
    System.out.println("engine started");
    Thread.sleep(Long.parseLong(System.getenv().getOrDefault("SECS","30")) * 1000);
    engine.close(); ex.shutdown();
    List<String> subjects = new ArrayList<>(registry.getAllSubjects());
    Collections.sort(subjects);
    for (String subject : subjects) {
      for (Integer version : registry.getAllVersions(subject)) {
        io.confluent.kafka.schemaregistry.client.SchemaMetadata m = registry.getSchemaMetadata(subject, version);
        out.println("SUBJECT " + subject + "\nVERSION " + version + "\nID " + m.getId() + "\nSCHEMA " + m.getSchema());
      }
    }
    System.exit(0);
  }
}
