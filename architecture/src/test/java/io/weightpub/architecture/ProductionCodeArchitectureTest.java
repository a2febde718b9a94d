package io.weightpub.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceRule;
import org.apache.avro.specific.AvroGenerated;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;

import java.util.Set;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static com.tngtech.archunit.library.freeze.FreezingArchRule.freeze;

/**
 * The boundaries between and inside the modules, over their production classes. Violations that
 * exist are frozen in {@code src/test/resources/archunit-violations} (as flink-connector-kafka does):
 * a new one fails the build, a fixed one leaves the store when the test runs next. Each module's
 * packages start with {@code io.weightpub.<module>}.
 */
@AnalyzeClasses(packages = "io.weightpub", importOptions = ImportOption.DoNotIncludeTests.class)
class ProductionCodeArchitectureTest {

    /** The modules whose top-level public classes carry an API mark (the applications do not). */
    private static final String[] LIBRARY_PACKAGES = {"io.weightpub.schemas..", "io.weightpub.events..",
            "io.weightpub.store..", "io.weightpub.sink..", "io.weightpub.publisher..", "io.weightpub.ops..",
            "io.weightpub.job.."};

    /** Packages with an {@code internal} subpackage of their own (add a new one here). */
    private static final String[] APIS_WITH_INTERNALS = {"io.weightpub.schemas.signing", "io.weightpub.store",
            "io.weightpub.sink", "io.weightpub.publisher", "io.weightpub.ops", "io.weightpub.job"};

    /**
     * Classes of the job and the sink that talk to Kafka themselves: the job's entry point and source,
     * the sink's builder (consumer settings), replay reader, status reporter and worker runtime.
     */
    private static final Set<String> KAFKA_EDGE_CLASSES = Set.of("io.weightpub.job.WeightPublishingJob",
            "io.weightpub.sink.WeightSink", "io.weightpub.sink.internal.KafkaChunkReader",
            "io.weightpub.sink.internal.StatusReporter", "io.weightpub.sink.internal.WorkerRuntime");

    @ArchTest
    static final ArchRule NO_MODULE_REACHES_INTO_ANOTHER_MODULES_INTERNALS = freeze(classes()
            .should(notDependOnInternalsOfAnotherModule())
            .as("no module reaches into another module's internal packages"));

    @ArchTest
    static final ArchRule ONLY_THE_CUDA_BACKEND_USES_JCUDA = freeze(noClasses()
            .that().resideOutsideOfPackage("io.weightpub.store.cuda..")
            .should().dependOnClassesThat().resideInAPackage("jcuda..")
            .as("only the CUDA backend (io.weightpub.store.cuda) uses JCuda"));

    @ArchTest
    static final ArchRule ONLY_EDGE_CLASSES_USE_KAFKA = freeze(noClasses()
            .that().resideInAnyPackage("io.weightpub.schemas..", "io.weightpub.events..", "io.weightpub.store..",
                    "io.weightpub.sink..", "io.weightpub.job..")
            .and(DescribedPredicate.not(kafkaEdge()))
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "org.apache.flink.connector.kafka..")
            .as("in the contract, the store, the sink and the job only edge classes use Kafka clients"));

    /**
     * Every package is a slice. A package may create its own internal implementation (a builder or
     * factory of its API does), so those edges are not counted; everything else, the implementation
     * using its API included, must form no cycle.
     */
    @ArchTest
    static final ArchRule NO_CYCLES_BETWEEN_PACKAGES = freeze(ignoringApiToOwnInternals(slices()
            .matching("io.weightpub.(**)")
            .should().beFreeOfCycles())
            .as("no cycles between packages (an API package creating its own internals aside)"));

    @ArchTest
    static final ArchRule LIBRARY_CLASSES_ARE_MARKED = freeze(classes()
            .that().resideInAnyPackage(LIBRARY_PACKAGES)
            .and().arePublic()
            .and().areTopLevelClasses()
            .and().areNotAnnotatedWith(AvroGenerated.class)
            .should().beAnnotatedWith(PublicEvolving.class)
            .orShould().beAnnotatedWith(Internal.class)
            .as("public classes of the library modules are marked @PublicEvolving or @Internal"));

    @ArchTest
    static final ArchRule INTERNAL_PACKAGES_ARE_NOT_PUBLIC_API = freeze(noClasses()
            .that().resideInAPackage("..internal..")
            .should().beAnnotatedWith(PublicEvolving.class)
            .as("classes in internal packages are not marked public API"));

    private static SliceRule ignoringApiToOwnInternals(SliceRule rule) {
        SliceRule result = rule;
        for (String api : APIS_WITH_INTERNALS) {
            result = result.ignoreDependency(JavaClass.Predicates.resideInAPackage(api),
                    JavaClass.Predicates.resideInAPackage(api + ".internal.."));
        }
        return result;
    }

    private static DescribedPredicate<JavaClass> kafkaEdge() {
        return DescribedPredicate.describe("Kafka edge classes", c -> {
            String topLevel = c.getName().split("\\$", 2)[0];
            return KAFKA_EDGE_CLASSES.contains(topLevel) || c.getPackageName().startsWith("io.weightpub.job.source");
        });
    }

    private static ArchCondition<JavaClass> notDependOnInternalsOfAnotherModule() {
        return new ArchCondition<>("not depend on the internal packages of another module") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                String module = module(item.getPackageName());
                for (Dependency dependency : item.getDirectDependenciesFromSelf()) {
                    String target = dependency.getTargetClass().getBaseComponentType().getPackageName();
                    if (target.startsWith("io.weightpub.") && isInternal(target) && !module(target).equals(module)) {
                        events.add(SimpleConditionEvent.violated(dependency, dependency.getDescription()));
                    }
                }
            }
        };
    }

    /** {@code io.weightpub.<module>...} -> module. */
    private static String module(String packageName) {
        String[] parts = packageName.split("\\.");
        return parts.length > 2 ? parts[2] : packageName;
    }

    private static boolean isInternal(String packageName) {
        return packageName.endsWith(".internal") || packageName.contains(".internal.");
    }
}
