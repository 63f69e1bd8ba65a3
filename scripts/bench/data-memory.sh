#!/usr/bin/env bash
# Peak RSS of a run with a 100,000-row dataset, with 1 user and with
# 10,000 users, each against the same run without the dataset
# (docs/benchmarks.md, "Test data"). Rows are parsed once and shared, so
# the dataset should cost the same with 10,000 users as with one.
#
#   scripts/bench/data-memory.sh [USERS] [ROWS]
#
# Needs Go and GNU time (/usr/bin/time); runs the built-in target on a
# free loopback port; takes about a minute.
set -euo pipefail

users=${1:-10000}
rows=${2:-100000}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
target_pid=
cleanup() {
	[ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null && wait "$target_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$here" && go build -o "$tmp/ntx" ./cmd/ntx)

# accounts.csv: id,username,password,email; about 60 bytes a row.
awk -v n="$rows" 'BEGIN {
	print "id,username,password,email"
	for (i = 1; i <= n; i++)
		printf "%d,user%06d,pw-%08x-%08x,user%06d@example.test\n", i, i, i * 2654435761 % 4294967296, i * 40503 % 4294967296, i
}' >"$tmp/accounts.csv"

"$tmp/ntx" serve --http 127.0.0.1:0 --tcp "" --udp "" >"$tmp/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 1 100); do
	addr=$(grep -o 'http 127\.0\.0\.1:[0-9]*' "$tmp/target.log" | cut -d' ' -f2 || true)
	[ -n "$addr" ] && break
	sleep 0.05
done
[ -n "$addr" ] || { echo "data-memory: the target did not start" >&2; cat "$tmp/target.log" >&2; exit 1; }

# scenario N WITH_DATA: N users, each bound to its own address of
# 127.64.0.0/18, posting its account then thinking 4-6 s, for 15 s (the
# shape of the 10,000-user memory run of cmd/ntxbench).
scenario() {
	local n=$1 with=$2 body='"u{{user.id}}"' data=''
	if [ "$with" = yes ]; then
		data='data: [{id: accounts, file: accounts.csv, order: per_user}]'
		body='"{{data.accounts.username}}:{{data.accounts.password}}"'
	fi
	cat <<EOF
name: data-memory
$data
ip_pools: [{id: slash18, ranges: ["127.64.0.0/18"]}]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: $n, spread: 5s}]}
  user_lifetime: {mode: loop, iterations: 0, think_time: {min: 4s, max: 6s}}
  duration: 15s
  graceful_stop: 5s
actions:
  - {id: login, call: post, with: {url: "http://$addr/asset", body: $body}}
tasks: [{id: start, action: login}]
EOF
}

# peak N WITH_DATA prints the run's peak RSS in KiB.
peak() {
	local file="$tmp/s-$1-$2.yaml"
	scenario "$1" "$2" >"$file"
	/usr/bin/time -f '%M' -o "$tmp/rss" "$tmp/ntx" exec --out "$tmp/out-$1-$2.json" "$file" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	cat "$tmp/rss"
}

size=$(du -k "$tmp/accounts.csv" | cut -f1)
echo "dataset: $rows rows, $size KiB of CSV; users bound to 127.64.0.0/18, thinking 4-6 s, 15 s" >&2
printf '| users | without data | with %d rows | the data costs |\n|---:|---:|---:|---:|\n' "$rows"
for n in 1 "$users"; do
	without=$(peak "$n" no)
	with=$(peak "$n" yes)
	awk -v n="$n" -v a="$without" -v b="$with" \
		'BEGIN { printf "| %d | %.1f MiB | %.1f MiB | %.1f MiB |\n", n, a / 1024, b / 1024, (b - a) / 1024 }'
done
