# shellcheck shell=bash
# shellcheck disable=SC2034 # CY_* are read by the scripts that source this file
# Sourced by the other scripts: where the repo is, which java to run, and building on demand.

CY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${JAVA_HOME:-}" ]]; then
  CY_JAVA="$JAVA_HOME/bin/java"
else
  CY_JAVA=java
fi
CY_JARS=(
  "$CY_ROOT/coordinator/target/cy-coordinator.jar"
  "$CY_ROOT/sim/target/cy-sim.jar"
  "$CY_ROOT/bench/target/cy-bench.jar"
)

# Builds the jars when one is missing or older than a source file or pom, so a fresh
# checkout or an edit just works, and an up-to-date tree starts without Maven's overhead.
ensure_built() {
  local jar stale=""
  for jar in "${CY_JARS[@]}"; do
    if [[ ! -f "$jar" ]] \
        || [[ -n "$(find "$CY_ROOT"/pom.xml "$CY_ROOT"/*/pom.xml "$CY_ROOT"/*/src \
                      -path '*/node_modules' -prune -o -type f -newer "$jar" -print -quit)" ]]; then
      stale=1
      break
    fi
  done
  if [[ -z "$stale" ]]; then
    return 0
  fi
  echo "building..." >&2
  local output
  # Captured and shown only on failure: -q still prints stray escape codes on success, and the
  # stdout of scripts/call belongs to the answer.
  if ! output="$(cd "$CY_ROOT" && mvn -q -B -DskipTests package 2>&1)"; then
    printf '%s\n' "$output" >&2
    echo "build failed: mvn -q -B -DskipTests package (in $CY_ROOT)" >&2
    exit 1
  fi
}
