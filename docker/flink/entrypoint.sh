#!/usr/bin/env bash
# Entry point of the compose Flink services: a named volume starts out owned by root, but Flink
# runs as user "flink", so hand it the shared checkpoint folder, then run the image's own entry
# point (which drops root).
set -euo pipefail
mkdir -p /opt/flink/checkpoints
chown flink:flink /opt/flink/checkpoints
exec /docker-entrypoint.sh "$@"
