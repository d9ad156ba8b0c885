import java.util.*;
import org.apache.kafka.common.config.ConfigDef;

/** Prints every property a Debezium PostgreSQL connector config can carry, with its default, for
 *  Tests/DebeziumMigrationTests/Fixtures/debezium-properties.tsv: the connector's own ConfigDef, Kafka Connect's
 *  source-connector properties, JsonConverter's and Debezium's CloudEventsConverter's. Usage: see run.sh's header for the class path. */
public class ListProperties {
  static void print(String origin, ConfigDef def) {
    for (ConfigDef.ConfigKey key : new TreeMap<>(def.configKeys()).values()) {
      Object value = key.defaultValue == ConfigDef.NO_DEFAULT_VALUE ? "(required)" : key.defaultValue;
      String text = value == null ? "(none)" : value instanceof List ? String.join(",", ((List<?>) value).stream().map(Object::toString).toList()) : value.toString();
      System.out.println(key.name + "\t" + text.replace("\t", " ").replace("\n", " ") + "\t" + origin);
    }
  }

  public static void main(String[] args) {
    print("debezium-postgres", new io.debezium.connector.postgresql.PostgresConnector().config());
    print("connect-source", org.apache.kafka.connect.runtime.SourceConnectorConfig.configDef());
    print("json-converter", org.apache.kafka.connect.json.JsonConverterConfig.configDef());
    print("cloudevents-converter", io.debezium.converters.CloudEventsConverterConfig.configDef());
  }
}
