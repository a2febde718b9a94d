import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * Creates topics in one admin request, for create-topics.sh: one JVM for every topic instead of a
 * kafka-topics JVM per topic. create-topics.sh compiles it once against the Kafka jars and runs
 * {@code java -cp 'LIBS/kafka/*:CLASSES' CreateTopics BOOTSTRAP [COMMAND_CONFIG] < specs}, one topic
 * per line of standard input: {@code name<TAB>partitions<TAB>replication[<TAB>key=value]...}.
 * A topic that exists is left as it is (kafka-topics --if-not-exists). Exit code 1 when any topic
 * could not be created.
 */
public class CreateTopics {

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        if (args.length > 1 && !args[1].isEmpty()) {
            try (Reader reader = Files.newBufferedReader(Path.of(args[1]), StandardCharsets.UTF_8)) {
                props.load(reader);
            }
        }
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        List<NewTopic> topics = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) {
                continue;
            }
            String[] fields = line.split("\t");
            Map<String, String> config = new LinkedHashMap<>();
            for (int i = 3; i < fields.length; i++) {
                String[] kv = fields[i].split("=", 2);
                config.put(kv[0], kv[1]);
            }
            topics.add(new NewTopic(fields[0], Integer.parseInt(fields[1]), Short.parseShort(fields[2])).configs(config));
        }
        boolean failed = false;
        try (Admin admin = Admin.create(props)) {
            Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
            for (NewTopic topic : topics) {
                try {
                    results.get(topic.name()).get();
                    System.out.println("created " + topic.name());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        System.out.println("exists  " + topic.name() + " (left as it is)");
                    } else {
                        System.err.println("error: creating " + topic.name() + " failed: " + e.getCause());
                        failed = true;
                    }
                }
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
