// Apache Kafka's own Java client (kafka-clients, the jars tools/services/kafka_setup.py fetches) sends one
// message per key read from stdin to a topic with its default partitioner (murmur2 of the key),
// and prints "key<TAB>partition" for each acknowledged message. Run as a single-file source:
//   java -cp '<libs>/*' KeyedProducer.java <bootstrap> <topic> < keys
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public class KeyedProducer {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        config.put("bootstrap.servers", args[0]);
        config.put("acks", "all");
        config.put("key.serializer", StringSerializer.class.getName());
        config.put("value.serializer", StringSerializer.class.getName());
        BufferedReader keys = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            String key;
            while ((key = keys.readLine()) != null) {
                RecordMetadata sent = producer.send(new ProducerRecord<>(args[1], key, "{}")).get();
                System.out.println(key + "\t" + sent.partition());
            }
        }
    }
}
