package io.weightpub.demo;

import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.ops.KafkaConnection;
import io.weightpub.ops.TopicAdmin;
import io.weightpub.ops.TopicSettings;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishRecords;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.SafetensorsCheckpoint;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;
import io.weightpub.testutils.EmbeddedKafka;
import org.apache.avro.SchemaNormalization;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.PrintStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Java side of the Python client's tests (python/tests), one mode per argument list:
 *
 * <ul>
 *   <li>{@code encode FILE MODEL STEP PUBLISH_ID BUCKET_SIZE CHUNK_SIZE CREATED_AT_MS OUT_DIR}: encodes a
 *       safetensors file with the Java publisher's encoder and writes every record value
 *       ({@code chunk-B-C.bin}, {@code manifest.bin}) and the schema fingerprints, so the Python
 *       encoding can be compared byte for byte;
 *   <li>{@code publish BOOTSTRAP PREFIX MODEL STEP FILE BUCKET_SIZE CHUNK_SIZE}: publishes a
 *       safetensors file with {@link WeightPublisher} and prints {@code BUCKET i sha256} lines;
 *   <li>{@code cluster WORKERS}: starts Kafka (in-process KRaft), creates the topics of prefix
 *       {@code weightpub}, runs the publishing job on a Flink MiniCluster with host stores and
 *       reference workers, prints {@code BOOTSTRAP servers} and {@code WORKER i url} lines, then
 *       {@code READY}, and stops everything when its standard input closes.
 * </ul>
 */
public final class PythonTestHarness {

    private static final String SINK = "python-test";

    private PythonTestHarness() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        switch (args.length == 0 ? "" : args[0]) {
            case "encode" -> encode(args, out);
            case "publish" -> publish(args, out);
            case "cluster" -> cluster(Integer.parseInt(args[1]), out);
            default -> {
                System.err.println("usage: PythonTestHarness encode|publish|cluster ... (see the class comment)");
                System.exit(2);
            }
        }
        out.flush();
        System.exit(0);
    }

    private static void encode(String[] a, PrintStream out) throws Exception {
        Path dir = Files.createDirectories(Path.of(a[8]));
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(Path.of(a[1]))) {
            PublishEncoder encoder = PublishEncoder.builder()
                    .modelId(a[2]).step(Long.parseLong(a[3])).publishId(a[4])
                    .tensors(checkpoint.tensors())
                    .bucketSizeBytes(Long.parseLong(a[5])).chunkSizeBytes(Integer.parseInt(a[6]))
                    .build();
            for (Iterator<WeightChunk> chunks = encoder.chunks(); chunks.hasNext(); ) {
                WeightChunk chunk = chunks.next();
                Files.write(dir.resolve("chunk-" + chunk.getBucketIndex() + "-" + chunk.getChunkIndex() + ".bin"),
                        WireCodec.CHUNK.encode(chunk));
                Files.write(dir.resolve("key-" + chunk.getBucketIndex() + "-" + chunk.getChunkIndex() + ".bin"),
                        PublishRecords.chunkKey(chunk));
            }
            VersionManifest manifest = encoder.manifest(Long.parseLong(a[7]));
            Files.write(dir.resolve("manifest.bin"), WireCodec.MANIFEST.encode(manifest));
            printDigests(manifest, out);
        }
        out.println("FINGERPRINT WeightChunk "
                + Long.toHexString(SchemaNormalization.parsingFingerprint64(WireCodec.CHUNK.schema())));
        out.println("FINGERPRINT VersionManifest "
                + Long.toHexString(SchemaNormalization.parsingFingerprint64(WireCodec.MANIFEST.schema())));
    }

    private static void publish(String[] a, PrintStream out) throws Exception {
        try (WeightPublisher publisher = WeightPublisher.builder()
                .bootstrapServers(a[1]).topicPrefix(a[2])
                .bucketSizeBytes(Long.parseLong(a[6])).chunkSizeBytes(Integer.parseInt(a[7]))
                .build()) {
            PublishResult result = publisher.publish(a[3], Long.parseLong(a[4]), Path.of(a[5]));
            out.println("PUBLISH " + result.manifest().getPublishId());
            printDigests(result.manifest(), out);
        }
    }

    private static void printDigests(VersionManifest manifest, PrintStream out) {
        for (BucketInfo bucket : manifest.getBuckets()) {
            ByteBuffer sha = bucket.getSha256().duplicate();
            byte[] bytes = new byte[sha.remaining()];
            sha.get(bytes);
            out.println("BUCKET " + bucket.getIndex() + " " + HexFormat.of().formatHex(bytes));
        }
    }

    private static void cluster(int workers, PrintStream out) throws Exception {
        PrintStream original = System.out;
        System.setOut(System.err); // Kafka's storage formatter prints to standard output
        EmbeddedKafka kafka = EmbeddedKafka.start();
        System.setOut(original);
        try (kafka) {
            TopicNames topics = TopicNames.of("weightpub");
            TopicAdmin.create(KafkaConnection.builder().bootstrapServers(kafka.bootstrapServers()).build(), topics,
                    TopicSettings.bundled());
            JobClient job = startJob(kafka.bootstrapServers(), topics, workers);
            try {
                out.println("BOOTSTRAP " + kafka.bootstrapServers());
                for (int worker = 0; worker < workers; worker++) {
                    out.println("WORKER " + worker + " " + awaitWorker(worker));
                }
                out.println("READY");
                out.flush();
                while (System.in.read() >= 0) {
                    // runs until the test closes our standard input
                }
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
                WeightSink.release(SINK);
            }
        }
    }

    private static JobClient startJob(String bootstrap, TopicNames topics, int workers) throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(JobOptions.TOPIC_PREFIX, topics.prefix());
        conf.set(JobOptions.WORKERS, workers);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(SinkOptions.NAME, SINK);
        conf.set(SinkOptions.BACKEND, StoreBackend.HOST);
        conf.set(SinkOptions.COMMIT_MODE, CommitMode.ON_CHECKPOINT);
        conf.set(SinkOptions.WORKER_HTTP, true);
        conf.set(SinkOptions.WORKER_HTTP_BASE_PORT, 0);
        Configuration cluster = new Configuration();
        cluster.set(TaskManagerOptions.NUM_TASK_SLOTS, workers);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(workers, cluster);
        WeightPublishingJob.build(env, conf);
        return env.executeAsync("weightpub python test");
    }

    private static URI awaitWorker(int worker) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Optional<URI> uri;
        while ((uri = WeightSink.workerUri(SINK, worker)).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("worker " + worker + " did not start within 120 s");
            }
            Thread.sleep(50);
        }
        return uri.get();
    }
}
