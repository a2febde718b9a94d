package io.weightpub.bench;

import io.weightpub.testutils.EmbeddedKafka;

/**
 * The Kafka broker the benchmarks run against: a standalone broker process that scripts/bench.sh
 * started (its CPU is then visible and its heap is not the job's), or, where no broker is given (a
 * GPU host without the cluster scripts), Kafka's KRaft test kit inside this JVM.
 */
public interface Broker extends AutoCloseable {

    String bootstrap();

    /** How the broker runs, for the report's environment section. */
    String mode();

    @Override
    void close();

    static Broker external(String bootstrap, String description) {
        return new Broker() {
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
