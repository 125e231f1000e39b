# Sourced by tests/run.sh: installs (once, cached, tests/tools.sh) and starts
# the local DynamoDB- and S3-compatible servers on free 127.0.0.1 ports,
# exports the standard AWS_ENDPOINT_URL_* variables for them; stop_servers
# stops them (start_servers stops them on exit unless told not to).
#   DynamoDB: moto's server (PyPI), in a venv.
#   S3: s3s-fs (crates.io), which checks SigV4 signatures, presigned URLs too.

source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

install_servers() {
  install_moto
  install_s3s_fs
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
  for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${SERVER_DIR:-}" ] && rm -rf "$SERVER_DIR"
}

# start_moto: a DynamoDB-compatible server on a free 127.0.0.1 port; sets
# MOTO_URL. One request at a time: DynamoDB's per-request atomicity
# (tests/moto_serial.py).
start_moto() {
  local port log
  port=$(free_port)
  log=$(mktemp "$SERVER_DIR/moto.XXXXXX")
  "$TOOLS/moto-venv/bin/python" "$TESTS_DIR/moto_serial.py" 127.0.0.1 "$port" >"$log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for "DynamoDB-compatible server (moto)" "$port" "$!" "$log"
  MOTO_URL="http://127.0.0.1:$port"
}

# start_servers [--no-trap]: --no-trap when the caller's EXIT trap calls
# stop_servers.
start_servers() {
  SERVER_DIR=$(mktemp -d)
  [ "${1:-}" = --no-trap ] || trap stop_servers EXIT
  start_moto

  local s3_port
  s3_port=$(free_port)
  mkdir -p "$SERVER_DIR/s3"
  "$S3S_FS" --host 127.0.0.1 --port "$s3_port" \
    --access-key test-access-key --secret-key test-secret-key "$SERVER_DIR/s3" >"$SERVER_DIR/s3s.log" 2>&1 &
  SERVER_PIDS+=($!)
  wait_for "S3-compatible server (s3s-fs)" "$s3_port" "$!" "$SERVER_DIR/s3s.log"

  export AWS_ACCESS_KEY_ID=test-access-key AWS_SECRET_ACCESS_KEY=test-secret-key AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL_DYNAMODB="$MOTO_URL"
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
}
