# Sourced by the EVM interop tests: anvil_start picks a free loopback port,
# starts anvil there (the native binary, so the PID is anvil's own), waits
# until it answers eth_chainId, exports ANVIL_URL and ANVIL_PID, and installs
# an EXIT trap that stops it by PID.
anvil_bin() {
    local nm="$SR_SOURCE_DIR/tests/node/node_modules"
    local native="$nm/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if [ -x "$native" ]; then echo "$native"; else echo "$nm/.bin/anvil"; fi
}

anvil_stop() {
    if [ -n "${ANVIL_PID:-}" ]; then
        kill "$ANVIL_PID" 2>/dev/null || true
        wait "$ANVIL_PID" 2>/dev/null || true
        ANVIL_PID=
    fi
}

anvil_start() {
    local port
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$(anvil_bin)" --host 127.0.0.1 --port "$port" --silent >anvil.log 2>&1 &
    ANVIL_PID=$!
    export ANVIL_PID
    trap anvil_stop EXIT
    export ANVIL_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if curl -s -m 1 -H 'Content-Type: application/json' \
            -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$ANVIL_URL" | grep -q result; then
            return 0
        fi
        kill -0 "$ANVIL_PID" 2>/dev/null || { cat anvil.log >&2; echo "anvil exited" >&2; return 1; }
        sleep 0.1
    done
    echo "anvil did not answer on $ANVIL_URL" >&2
    return 1
}
