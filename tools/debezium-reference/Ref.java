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

  /// FORMAT=avro: key and value through Confluent's AvroConverter with an in-memory registry (mock://ref); each
  /// record's bytes in hex, then every subject's versions as the registry holds them.
  static void avro(Properties p, PrintStream out) throws Exception {
    p.remove("converter.schemas.enable");
    for (String side : new String[] {"key", "value"}) {
      if (p.getProperty(side + ".converter.schema.registry.url") == null) p.setProperty(side + ".converter.schema.registry.url", "mock://ref");
    }
    DebeziumEngine<ChangeEvent<byte[],byte[]>> engine = DebeziumEngine.create(KeyValueHeaderChangeEventFormat.of(Avro.class, Avro.class, Json.class))
      .using(p)
      .notifying(r -> {
        StringBuilder h = new StringBuilder();
        for (Object o : r.headers()) { Header<?> hd = (Header<?>) o; h.append(hd.getKey()).append("=").append(hd.getValue()).append(";"); }
        out.println("TOPIC " + r.destination() + "\nHEADERS " + h + "\nKEY " + hex(r.key()) + "\nVALUE " + hex(r.value()));
      }).build();
    ExecutorService ex = Executors.newSingleThreadExecutor();
    ex.execute(engine);
    System.out.println("engine started");
    Thread.sleep(Long.parseLong(System.getenv().getOrDefault("SECS","30")) * 1000);
    engine.close(); ex.shutdown();
    io.confluent.kafka.schemaregistry.client.SchemaRegistryClient registry =
      io.confluent.kafka.schemaregistry.testutil.MockSchemaRegistry.getClientForScope("ref");
    List<String> subjects = new ArrayList<>(registry.getAllSubjects());
    Collections.sort(subjects);
    for (String subject : subjects) {
      for (Integer version : registry.getAllVersions(subject)) {
        io.confluent.kafka.schemaregistry.client.SchemaMetadata m = registry.getSchemaMetadata(subject, version);
        out.println("SUBJECT " + subject + "\nVERSION " + version + "\nID " + m.getId() + "\nSCHEMA " + m.getSchema());
      }
    }
  }
}
