# Sourced by tests/run.sh: installs (once, cached) and starts the local
# DynamoDB- and S3-compatible servers on free 127.0.0.1 ports, exports the
# standard AWS_ENDPOINT_URL_* variables for them, and stops them on exit.
#   DynamoDB: moto's server (PyPI), in a venv.
#   S3: s3s-fs (crates.io), which checks SigV4 signatures, presigned URLs too.

TOOLS="${CHAT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
MOTO_PIN=(moto[dynamodb,s3]==5.2.5 flask==3.1.3 flask-cors==6.0.5)
S3S_VERSION=0.14.1

install_servers() {
  mkdir -p "$TOOLS"
  if [ ! -x "$TOOLS/moto-venv/bin/moto_server" ]; then
    echo "installing ${MOTO_PIN[*]} into $TOOLS/moto-venv"
    rm -rf "$TOOLS/moto-venv"
    python3 -m venv "$TOOLS/moto-venv"
    "$TOOLS/moto-venv/bin/pip" install --quiet --disable-pip-version-check "${MOTO_PIN[@]}"
  fi
  if [ ! -x "$TOOLS/s3s-fs/bin/s3s-fs" ]; then
    echo "building s3s-fs $S3S_VERSION into $TOOLS/s3s-fs (a few minutes, once)"
    cargo install s3s-fs --version "$S3S_VERSION" --locked --features binary --root "$TOOLS/s3s-fs"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for NAME PORT PID LOG: until the port accepts connections; fails after 60 s.
wait_for() {
  local name=$1 port=$2 pid=$3 log=$4
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited while starting:"; cat "$log"; return 1
    fi
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
      echo "$name listening on 127.0.0.1:$port"; return 0
    fi
    sleep 0.5
  done
  echo "$name did not start on 127.0.0.1:$port:"; cat "$log"; return 1
}

SERVER_PIDS=()
stop_servers() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${SERVER_DIR:-}" ] && rm -rf "$SERVER_DIR"
}

start_servers() {
  SERVER_DIR=$(mktemp -d)
  trap stop_servers EXIT
  local dynamo_port s3_port
  dynamo_port=$(free_port)
  # One request at a time: DynamoDB's per-request atomicity (tests/moto_serial.py).
  "$TOOLS/moto-venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_serial.py" 127.0.0.1 "$dynamo_port" \
    >"$SERVER_DIR/moto.log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for "DynamoDB-compatible server (moto)" "$dynamo_port" "$!" "$SERVER_DIR/moto.log"

  s3_port=$(free_port)
  mkdir -p "$SERVER_DIR/s3"
  "$TOOLS/s3s-fs/bin/s3s-fs" --host 127.0.0.1 --port "$s3_port" \
    --access-key test-access-key --secret-key test-secret-key "$SERVER_DIR/s3" >"$SERVER_DIR/s3s.log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for "S3-compatible server (s3s-fs)" "$s3_port" "$!" "$SERVER_DIR/s3s.log"

  export AWS_ACCESS_KEY_ID=test-access-key AWS_SECRET_ACCESS_KEY=test-secret-key AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamo_port"
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
}
