#!/bin/sh
# bench-fleet: the cost of coordination. Runs ROUNDS rounds of the same
# open-model work (RATE arrivals a second for DURATION, one GET each)
# as 2 coordinated segments and as one process, against TARGET (host:port
# serving /asset; default: ntx serve on an ephemeral port), and prints
# each process's CPU (user+sys seconds). Segment 0 also coordinates, so
# its CPU less segment 1's is the coordinator's, and the snapshot bytes
# come from the merged result's size per second.
set -eu
NTX=${NTX:-bin/ntx}
RATE=${RATE:-2000}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
dir=$(mktemp -d)
trap 'kill $serve 2>/dev/null || true; rm -rf "$dir"' EXIT
serve=""
if [ -z "${TARGET:-}" ]; then
	"$NTX" serve --http 127.0.0.1:0 --https "" --tcp "" --udp "" --dns "" >"$dir/serve" 2>&1 &
	serve=$!
	sleep 1
	TARGET=$(sed -n 's/^ntx target: http \([^,]*\),.*/\1/p' "$dir/serve")
fi
export NTX_TARGET_HTTP=$TARGET
cat >"$dir/s.yaml" <<YAML
name: bench-fleet
load:
  arrival: {rate: $RATE/s, duration: $DURATION, max_users: 10000}
actions:
  - {id: get, call: http.request, with: {method: GET, url: "http://{{env.NTX_TARGET_HTTP}}/asset"}}
tasks:
  - {id: start, next: [{task: t1}]}
  - {id: t1, action: get, next: [{task: end}]}
  - {id: end}
YAML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cpu() { # cpu LABEL CMD...: runs CMD, prints LABEL and its CPU seconds
	label=$1; shift
	/usr/bin/time -f "$label %U %S" -o "$dir/$label.time" "$@" >/dev/null 2>&1 || true
	awk '{printf "%-8s cpu %.2f s\n", $1, $2+$3}' "$dir/$label.time"
}
echo "target $TARGET, $RATE/s for $DURATION, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	cpu seg1 "$NTX" exec -q --segment 1/2 --coordinator "127.0.0.1:$port" "$dir/s.yaml" &
	seg1=$!
	cpu seg0 "$NTX" exec -q --segment 0/2 --coordinator "127.0.0.1:$port" "$dir/s.yaml"
	wait "$seg1"
	cpu single "$NTX" exec -q "$dir/s.yaml"
done
