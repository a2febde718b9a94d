package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

class GpuBundleTest {

    private static final List<String> LOG = List.of(
            "[0.010s][info][class,load] java.lang.Object source: shared objects file",
            "[0.200s][info][class,load] javax.management.remote.rmi.RMIConnectorServer source: jrt:/java.management.rmi",
            "[0.300s][info][class,load] org.apache.flink.runtime.minicluster.MiniCluster source: "
                    + "file:/opt/w/lib/flink-runtime-2.2.1.jar",
            "[0.310s][info][class,load] org.apache.kafka.tools.ConsumerPerformance source: "
                    + "jar:file:/opt/w/lib/kafka-tools-4.2.0.jar!/",
            "[0.320s][info][class,load] org.apache.pekko.actor.ActorSystem source: "
                    + "file:/tmp/flink-rpc-akka3ae553e4-9c0b.jar",
            "[0.330s][info][class,load] org.example.Foo$$Lambda$12/0x0000000800c0b000 source: org.example.Foo");

    @Test
    void theModulesIncludeWhatFlinksTaskManagerNeedsToRegister() {
        assertThat(GpuBundle.MODULES).contains("java.base", "java.management.rmi", "jdk.unsupported").doesNotHaveDuplicates();
    }

    @Test
    void classLoadLogsNameTheJarsAndRuntimeModulesClassesCameFrom() {
        assertThat(GpuBundle.jars(LOG)).containsExactly("flink-rpc-akka3ae553e4-9c0b.jar", "flink-runtime-2.2.1.jar",
                "kafka-tools-4.2.0.jar");
        assertThat(GpuBundle.runtimeModules(LOG)).containsExactly("java.management.rmi");
        assertThat(GpuBundle.loadedClasses(LOG)).containsExactlyInAnyOrder(
                "org.apache.flink.runtime.minicluster.MiniCluster", "org.apache.kafka.tools.ConsumerPerformance",
                "org.apache.pekko.actor.ActorSystem");
    }

    @Test
    void aNestedOrAnonymousClassBelongsToItsTopLevelClass() {
        assertThat(GpuBundle.topLevel("org.apache.kafka.clients.consumer.internals.ConsumerCoordinator$3"))
                .isEqualTo("org.apache.kafka.clients.consumer.internals.ConsumerCoordinator");
        assertThat(GpuBundle.topLevel("scala.package$")).isEqualTo("scala.package");
        assertThat(GpuBundle.topLevel("a.B")).isEqualTo("a.B");
    }

    @Test
    void kafkasJarsKeepEveryClassOfAPackageAClassWasLoadedFrom() {
        GpuBundle.Selection byPackage = GpuBundle.Selection.of(GpuBundle.loadedClasses(LOG), true);
        assertThat(byPackage.keeps("org.apache.kafka.tools.ConsumerPerformance")).isTrue();
        assertThat(byPackage.keeps("org.apache.kafka.tools.OffsetsForLeaderEpochUtils")).isTrue();
        assertThat(byPackage.keeps("org.apache.kafka.tools.reassign.Unused")).isFalse();
        GpuBundle.Selection byClass = GpuBundle.Selection.of(GpuBundle.loadedClasses(LOG), false);
        assertThat(byClass.keeps("org.apache.kafka.tools.OffsetsForLeaderEpochUtils")).isFalse();
        assertThat(GpuBundle.BY_PACKAGE).anyMatch("kafka-clients-4.2.0.jar"::startsWith);
    }

    @Test
    void jacksonsJarsArePrunedByPackageSinceAParserLoadsClassesByItsInput() {
        assertThat(GpuBundle.BY_PACKAGE).anyMatch("jackson-core-2.18.2.jar"::startsWith)
                .anyMatch("jackson-databind-2.19.2.jar"::startsWith);
    }

    @Test
    void log4jsJarsStayWholeSinceTheTrialRunsWithLoggingOffAndNeverLoadsTheClassesAWarningNeeds() {
        assertThat(GpuBundle.ALWAYS).anyMatch("log4j-core-2.24.3.jar"::startsWith)
                .anyMatch("log4j-api-2.24.3.jar"::startsWith).anyMatch("log4j-slf4j2-impl-2.24.3.jar"::startsWith);
    }

    @Test
    void testLoggingConfigurationsAreLeftOutSoTheBenchesOwnOneIsUsed() {
        GpuBundle.Selection any = GpuBundle.Selection.of(Set.of(), false);
        assertThat(GpuBundle.keepEntry("log4j2-test.properties", any)).isFalse();
        assertThat(GpuBundle.keepEntry("log4j2-test.xml", any)).isFalse();
        assertThat(GpuBundle.keepEntry("log4j2.properties", any)).isTrue();
    }

    @Test
    void jarsNothingWasLoadedFromAreLeftOutExceptTheCudaStoresAndOurs() {
        assertThat(GpuBundle.keep(Set.of("flink-runtime-2.2.1.jar"), List.of("flink-runtime-2.2.1.jar",
                "testcontainers-1.21.4.jar", "jcuda-12.6.0.jar", "jcuda-natives-12.6.0-linux-x86_64.jar",
                "weightpub-sink-0.1.0-SNAPSHOT.jar"))).containsExactly("flink-runtime-2.2.1.jar", "jcuda-12.6.0.jar",
                "jcuda-natives-12.6.0-linux-x86_64.jar", "weightpub-sink-0.1.0-SNAPSHOT.jar");
    }

    @Test
    void pruningKeepsLoadedClassesWithTheirNestedOnesAndResourcesAlsoInNestedJarsAndDropsUnusedNatives() throws IOException {
        byte[] nested = jar(Map.of("org/apache/pekko/actor/ActorSystem.class", "a",
                "org/apache/pekko/actor/Unused.class", "b", "reference.conf", "pekko {}"));
        ByteArrayOutputStream outer = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(outer)) {
            put(zip, "org/apache/flink/runtime/minicluster/MiniCluster.class", "c".getBytes());
            put(zip, "org/apache/flink/runtime/minicluster/MiniCluster$3.class", "c3".getBytes());
            put(zip, "org/apache/flink/runtime/minicluster/Unused.class", "d".getBytes());
            put(zip, "org/apache/flink/runtime/minicluster/Unused$1.class", "d1".getBytes());
            put(zip, "META-INF/versions/11/org/apache/flink/runtime/minicluster/MiniCluster.class", "e".getBytes());
            put(zip, "META-INF/services/org.example.Service", "impl".getBytes());
            put(zip, "lib/libJNvPTXCompiler-12.6.0-linux-x86_64.so", "so".getBytes());
            put(zip, "lib/libJCudaDriver-12.6.0-linux-x86_64.so", "so".getBytes());
            put(zip, "flink-rpc-akka.jar", nested);
        }
        ByteArrayOutputStream pruned = new ByteArrayOutputStream();
        GpuBundle.prune(new ByteArrayInputStream(outer.toByteArray()), pruned,
                GpuBundle.Selection.of(GpuBundle.loadedClasses(LOG), false));

        Map<String, byte[]> kept = read(pruned.toByteArray());
        assertThat(kept.keySet()).containsExactlyInAnyOrder("org/apache/flink/runtime/minicluster/MiniCluster.class",
                "org/apache/flink/runtime/minicluster/MiniCluster$3.class",
                "META-INF/versions/11/org/apache/flink/runtime/minicluster/MiniCluster.class",
                "META-INF/services/org.example.Service", "lib/libJCudaDriver-12.6.0-linux-x86_64.so",
                "flink-rpc-akka.jar");
        assertThat(read(kept.get("flink-rpc-akka.jar")).keySet()).containsExactlyInAnyOrder(
                "org/apache/pekko/actor/ActorSystem.class", "reference.conf");
    }

    private static byte[] jar(Map<String, String> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, String> e : entries.entrySet()) {
                put(zip, e.getKey(), e.getValue().getBytes());
            }
        }
        return out.toByteArray();
    }

    private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
    }

    private static Map<String, byte[]> read(byte[] jar) throws IOException {
        Map<String, byte[]> out = new java.util.HashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(jar))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                out.put(e.getName(), in.readAllBytes());
            }
        }
        return out;
    }
}
