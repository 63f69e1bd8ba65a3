#!/bin/sh
# Installs what `make bench` compares ntx with, each from its ordinary
# registry, and says why when one cannot be had:
#   Debian: nginx (the target), wrk, h2load (nghttp2-client), Tsung,
#           Locust (python3-locust), openssl (s_time)
#   Go module proxy, into bin/: hey, vegeta, bombardier (pinned)
#   npm, into bin/npm: Artillery, autocannon (pinned)
# A tool that cannot be installed is skipped: its reason goes to
# bin/bench/skipped/TOOL, which ntxbench prints in its table. k6 is not
# installed: it is under the AGPL.
set -u
GO=${GO:-go}
BIN=$(pwd)/bin
SKIP=$BIN/bench/skipped
mkdir -p "$SKIP"
rm -f "$SKIP"/*

skip() { # TOOL REASON
	echo "make bench: skipping $1: $2" >&2
	printf '%s\n' "$2" >"$SKIP/$1"
}

# Debian packages: install the missing ones in one go, then one by one if
# that failed, so one unavailable package does not cost the others.
need=""
command -v nginx >/dev/null || need="$need nginx-light"
command -v wrk >/dev/null || need="$need wrk"
command -v h2load >/dev/null || need="$need nghttp2-client"
command -v tsung >/dev/null || need="$need tsung"
/usr/bin/python3 -c 'import locust.main' 2>/dev/null || need="$need python3-locust"
command -v openssl >/dev/null || need="$need openssl"
if [ -n "$need" ]; then
	echo "make bench: installing from Debian:$need" >&2
	apt-get update -qq >/dev/null 2>&1
	# shellcheck disable=SC2086
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1; then
		for p in $need; do
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null 2>&1 ||
				echo "make bench: apt-get install $p failed" >&2
		done
	fi
fi
command -v nginx >/dev/null || { echo "make bench: nginx (the target) could not be installed" >&2; exit 1; }
command -v wrk >/dev/null || skip wrk "Debian's wrk could not be installed"
command -v h2load >/dev/null || skip h2load "Debian's nghttp2-client could not be installed"
command -v tsung >/dev/null || skip tsung "Debian's tsung could not be installed"
command -v openssl >/dev/null || skip s_time "Debian's openssl could not be installed"
if ! /usr/bin/python3 -c 'import locust.main' 2>/dev/null; then
	skip locust-1 "Debian's python3-locust could not be installed (PyPI is not reachable here)"
	skip locust-n "Debian's python3-locust could not be installed (PyPI is not reachable here)"
fi

# Go tools, pinned, from the module proxy.
goget() { # NAME MODULE@VERSION
	[ -x "$BIN/$1" ] && return 0
	echo "make bench: go install $2" >&2
	GOBIN=$BIN GOFLAGS= $GO install "$2" >/dev/null 2>&1 || skip "$1" "go install $2 failed"
}
goget hey github.com/rakyll/hey@v0.1.4
goget vegeta github.com/tsenart/vegeta/v12@v12.13.0
goget bombardier github.com/codesenberg/bombardier@v1.2.6

# Node tools, pinned, into bin/npm. Artillery's dependencies would
# download a browser for its Playwright engine: not needed, not allowed.
if ! command -v npm >/dev/null; then
	skip artillery "npm is not installed"
	skip autocannon "npm is not installed"
elif [ ! -x "$BIN/npm/node_modules/.bin/artillery" ] || [ ! -x "$BIN/npm/node_modules/.bin/autocannon" ]; then
	echo "make bench: npm install artillery@2.0.34 autocannon@9.0.0 (a few minutes)" >&2
	mkdir -p "$BIN/npm"
	(cd "$BIN/npm" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --prefix . \
		artillery@2.0.34 autocannon@9.0.0 >npm-install.log 2>&1) ||
		echo "make bench: npm install failed (bin/npm/npm-install.log)" >&2
	[ -x "$BIN/npm/node_modules/.bin/artillery" ] || skip artillery "npm install artillery@2.0.34 failed (bin/npm/npm-install.log)"
	[ -x "$BIN/npm/node_modules/.bin/autocannon" ] || skip autocannon "npm install autocannon@9.0.0 failed (bin/npm/npm-install.log)"
fi
exit 0
