#!/usr/bin/env bash
# Offline check of the Jenkinsfile: Groovy syntax, then the declarative
# structure (JenkinsfileCheck.groovy says what exactly). Jenkins' own linter
# needs a running controller; this needs only Java 17 and Groovy from Maven
# Central, so CI and laptops can run it.
# Usage: scripts/deploy-checks/jenkinsfile.sh [PATH/Jenkinsfile]   (default: the repo's)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

GROOVY_ARTIFACT="org.apache.groovy:groovy:4.0.33"
GROOVY_JAR="$TOOLS/groovy/groovy-4.0.33.jar"
JENKINSFILE="${1:-$DEPLOY_ROOT/Jenkinsfile}"

# One jar (the parser and GroovyMain, picocli shaded in) is all the checker
# needs; Maven's local repository makes a second copy free.
if [[ ! -f "$GROOVY_JAR" ]]; then
  check_log "installing $GROOVY_ARTIFACT (Maven Central)"
  mvn -q -B dependency:copy -Dartifact="$GROOVY_ARTIFACT" -DoutputDirectory="$TOOLS/groovy" >&2
fi

check_log "jenkinsfile: Groovy syntax and declarative structure of ${JENKINSFILE#"$DEPLOY_ROOT"/}"
java -cp "$GROOVY_JAR" groovy.ui.GroovyMain "$DEPLOY_ROOT/scripts/deploy-checks/JenkinsfileCheck.groovy" "$JENKINSFILE"
check_log "jenkinsfile: ok"
