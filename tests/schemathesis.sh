#!/usr/bin/env bash
# Schemathesis against the lot server's own /openapi.json: a real server
# (the debug build, embedded broker, a fresh SQLite file on free ports) is
# sent requests generated from the document, valid and invalid, as an
# admin. Every check runs but positive_data_acceptance (see docs/testing.md
# "Hostile input": rules across fields that a schema cannot say). Fails on
# any 5xx, an undocumented status, a response that breaks its schema, or an
# invalid request accepted.
#
#   tests/schemathesis.sh [EXAMPLES]   # per operation; default 30, fixed seed
#   SCHEMATHESIS_SEED=random tests/schemathesis.sh 500
#
# Installs schemathesis from PyPI if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-30}"
SEED="${SCHEMATHESIS_SEED:-20261206}"

# Through the interpreter: pip's new command may not be on PATH yet (pyenv).
st() { python3 -m schemathesis.cli "$@"; }
st --version >/dev/null 2>&1 || python3 -m pip install -q "schemathesis>=4.32,<5"
# The binary `cargo test --workspace` builds (same features, so after the
# tests nothing is compiled again).
cargo test -q --workspace --no-run 2>/dev/null
BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/lot-server"

dir="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true # its SIGTERM status is not ours
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"
mqtt_port="$(free_port)"
# Webhook keys are set so that the webhooks verify (and refuse) signatures;
# they are this run's own, never a real account's.
cat >"$dir/lot-server.toml" <<EOF
[lot]
id = "st-lot"
name = "Schemathesis"
zone = "hanoi-zone-1"
tariff_dir = "$PWD/config/tariffs"
[broker]
embedded = true
host = "127.0.0.1"
port = $mqtt_port
[server]
listen = "127.0.0.1:$http_port"
[database]
url = "sqlite://$dir/lot-server.sqlite?mode=rwc"
[settlement]
sepay_hmac_secret = "schemathesis-$RANDOM$RANDOM"
casso_secret = "schemathesis-$RANDOM$RANDOM"
[invoice]
drop_dir = "$dir/invoices"
EOF
cfg=(--config "$dir/lot-server.toml")
"$BIN" migrate "${cfg[@]}" >/dev/null
token="$("$BIN" token create --role admin --label schemathesis "${cfg[@]}")"
"$BIN" run "${cfg[@]}" >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$http_port/health/ready" >/dev/null && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$http_port/health/ready" >/dev/null || { cat "$dir/server.log"; exit 1; }

seed=()
[ "$SEED" != random ] && seed=(--seed "$SEED")
status=0
# From the run's directory: schemathesis keeps a cache (.schemathesis/)
# where it runs, and that goes with the directory.
(cd "$dir" && st run "http://127.0.0.1:$http_port/openapi.json" \
  --url "http://127.0.0.1:$http_port" \
  -H "Authorization: Bearer $token" \
  --exclude-path /api/v1/live \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$EXAMPLES" --workers 1 "${seed[@]}" \
  --no-color) || status=$?
# A 500 is logged at ERROR with its detail; so is any other fault of ours
# (the embedded broker's own library logs a client's dropped connection at
# ERROR too: not ours).
errors="$(sed 's/\x1b\[[0-9;]*m//g' "$dir/server.log" | grep -E '^\S+ +ERROR ' | grep -v 'rumqttd::' || true)"
if [ -n "$errors" ]; then
  echo "the server logged errors:" >&2
  head -20 <<<"$errors" >&2
  status=1
fi
exit "$status"
