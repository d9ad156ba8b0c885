import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.confluent.connect.avro.AvroConverter;
import io.confluent.kafka.schemaregistry.avro.AvroSchema;
import io.confluent.kafka.schemaregistry.client.MockSchemaRegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.json.JsonConverter;

/// Reads Tributary's Avro records (a dump AvroRowsTests writes with AVRO_DUMP) with Confluent's AvroConverter, the way a
/// Kafka Connect sink or KafkaAvroDeserializer-based consumer reads them, and checks that the Connect data it makes is
/// the record Tributary's JSON form holds (JsonConverter with schemas, compared as JSON trees).
public class Check {
  static int registryVersions = 0;

  /// Where two JSON trees first differ, with both values there.
  static String firstDifference(JsonNode got, JsonNode expected, String path) {
    if (got == null || expected == null || got.getNodeType() != expected.getNodeType()) {
      return path + ": deserialized " + got + ", tributary " + expected;
    }
    if (got.isObject()) {
      java.util.Set<String> names = new java.util.TreeSet<>();
      got.fieldNames().forEachRemaining(names::add);
      expected.fieldNames().forEachRemaining(names::add);
      for (String name : names) {
        if (!java.util.Objects.equals(got.get(name), expected.get(name))) {
          return firstDifference(got.get(name), expected.get(name), path + "." + name);
        }
      }
    } else if (got.isArray()) {
      for (int i = 0; i < Math.max(got.size(), expected.size()); i++) {
        if (!java.util.Objects.equals(got.get(i), expected.get(i))) {
          return firstDifference(got.get(i), expected.get(i), path + "[" + i + "]");
        }
      }
    }
    return path + ": deserialized " + got + ", tributary " + expected;
  }

  /// Removes from `got` each `version` the expected schema does not have (where its Connect schema had none).
  static void registryVersions(JsonNode got, JsonNode expected) {
    if (got == null || expected == null) return;
    if (got.isObject() && expected.isObject()) {
      if (got.has("version") && !expected.has("version") && got.has("name")) {
        ((com.fasterxml.jackson.databind.node.ObjectNode) got).remove("version");
        registryVersions++;
      }
      java.util.Iterator<String> names = got.fieldNames();
      while (names.hasNext()) {
        String name = names.next();
        registryVersions(got.get(name), expected.get(name));
      }
    } else if (got.isArray() && expected.isArray()) {
      for (int i = 0; i < Math.min(got.size(), expected.size()); i++) registryVersions(got.get(i), expected.get(i));
    }
  }

  public static void main(String[] args) throws Exception {
    List<String> lines = Files.readAllLines(Path.of(args[0]));
    MockSchemaRegistryClient registry = new MockSchemaRegistryClient();
    Map<String, Object> config = new HashMap<>();
    config.put("schema.registry.url", "http://registry.invalid");
    AvroConverter keys = new AvroConverter(registry);
    keys.configure(config, true);
    AvroConverter values = new AvroConverter(registry);
    values.configure(config, false);
    JsonConverter jsonKeys = new JsonConverter();
    jsonKeys.configure(Map.of("schemas.enable", "true"), true);
    JsonConverter jsonValues = new JsonConverter();
    jsonValues.configure(Map.of("schemas.enable", "true"), false);
    ObjectMapper mapper = new ObjectMapper();
    int records = 0, sides = 0, mismatches = 0;
    for (int i = 0; i + 6 < lines.size(); i += 7) {
      String topic = lines.get(i).substring(6);
      records++;
      for (int side = 0; side < 2; side++) {
        String schema = lines.get(i + 1 + side * 3).split(" ", 2)[1];
        String hex = lines.get(i + 2 + side * 3).split(" ", 2)[1];
        String json = lines.get(i + 3 + side * 3).split(" ", 2)[1];
        if (hex.equals("-")) continue;
        sides++;
        byte[] bytes = new byte[hex.length() / 2];
        for (int b = 0; b < bytes.length; b++) bytes[b] = (byte) Integer.parseInt(hex.substring(2 * b, 2 * b + 2), 16);
        int id = registry.register(topic + (side == 0 ? "-key" : "-value"), new AvroSchema(schema));
        bytes[1] = (byte) (id >> 24); bytes[2] = (byte) (id >> 16); bytes[3] = (byte) (id >> 8); bytes[4] = (byte) id;
        SchemaAndValue data = (side == 0 ? keys : values).toConnectData(topic, bytes);
        byte[] back = (side == 0 ? jsonKeys : jsonValues).fromConnectData(topic, data.schema(), data.value());
        JsonNode got = mapper.readTree(back);
        JsonNode expected = mapper.readTree(json);
        // AvroData gives a named schema without connect.version the registry's version of the subject (1 here), as it
        // does for Debezium's records: not a difference in the data.
        registryVersions(got.get("schema"), expected.get("schema"));
        if (!got.equals(expected)) {
          mismatches++;
          if (mismatches <= 12) {
            System.out.println("MISMATCH " + topic + (side == 0 ? " key" : " value"));
            System.out.println("  " + firstDifference(got, expected, ""));
          }
        }
      }
    }
    System.out.println(registryVersions + " schema versions from the registry left out of the comparison");
    System.out.println(records + " records, " + sides + " keys and values read, " + mismatches + " differ");
    System.exit(mismatches == 0 && sides > 0 ? 0 : 1);
  }
}
