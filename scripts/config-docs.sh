#!/usr/bin/env bash
# Regenerates the README's configuration table from the options classes (JobOptions, SinkOptions,
# PublisherOptions). A test fails when the README is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp install -DskipTests -Dmaven.test.skip=true -pl demo -am
java -cp "demo/target/classes:$(cat demo/target/demo.classpath)" io.weightpub.demo.ConfigurationDocs --write README.md
