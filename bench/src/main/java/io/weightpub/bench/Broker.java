package io.weightpub.bench;

import io.weightpub.testutils.EmbeddedKafka;

import java.nio.file.Path;

/**
 * The Kafka broker the benchmarks run against: a standalone broker process that scripts/bench.sh
 * started ({@code --bootstrap}), else one the benchmark starts itself ({@code --broker standalone},
 * the default: {@link StandaloneBroker}, its CPU visible and its heap not the benchmark's), or Kafka's
 * KRaft test kit inside this JVM ({@code --broker embedded}; it shares the benchmark's heap and
 * serves 16 consumers less than half of what a standalone broker does on the GPU host).
 */
public interface Broker extends AutoCloseable {

    String bootstrap();

    /** The broker's process, for its CPU time; -1 where unknown. */
    default long pid() {
        return -1;
    }

    /** The options {@link #open} reads. */
    String[] OPTIONS = {"bootstrap", "broker-desc", "broker-pid", "broker", "broker-heap", "broker-dir"};

    /**
     * The broker the options name: {@code --bootstrap HOST:PORT} (with {@code --broker-desc},
     * {@code --broker-pid}) an external one; else {@code --broker standalone} (default; {@code
     * --broker-heap 2g}, {@code --broker-dir} for its data, default the temp folder) or {@code embedded}.
     */
    static Broker open(BenchArgs args) throws Exception {
        if (args.get("bootstrap").isPresent()) {
            String b = args.get("bootstrap").get();
            return external(b, args.get("broker-desc", "external broker at " + b), args.intValue("broker-pid", -1));
        }
        String kind = args.get("broker", "standalone");
        return switch (kind) {
            case "standalone" -> StandaloneBroker.start(
                    args.path("broker-dir", Path.of(System.getProperty("java.io.tmpdir"))),
                    args.get("broker-heap", StandaloneBroker.DEFAULT_HEAP));
            case "embedded" -> embedded();
            default -> throw new IllegalArgumentException("--broker " + kind + ": expected standalone or embedded");
        };
    }

    /** How the broker runs, for the report's environment section. */
    String mode();

    @Override
    void close();

    static Broker external(String bootstrap, String description) {
        return external(bootstrap, description, -1);
    }

    static Broker external(String bootstrap, String description, long pid) {
        return new Broker() {
            @Override
            public long pid() {
                return pid;
            }

            @Override
            public String bootstrap() {
                return bootstrap;
            }

            @Override
            public String mode() {
                return description;
            }

            @Override
            public void close() {}
        };
    }

    static Broker embedded() {
        EmbeddedKafka kafka = EmbeddedKafka.start();
        return new Broker() {
            @Override
            public String bootstrap() {
                return kafka.bootstrapServers();
            }

            /** An in-process broker's CPU is this JVM's, which only waits while the job runs. */
            @Override
            public long pid() {
                return ProcessHandle.current().pid();
            }

            @Override
            public String mode() {
                return "in-process KRaft broker (Kafka test kit, EmbeddedKafka) in the benchmark JVM";
            }

            @Override
            public void close() {
                kafka.close();
            }
        };
    }
}
