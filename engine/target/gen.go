package target

import "strings"

//go:generate go run ./gendoc -o ../../docs/target.md

// Doc renders the reference page docs/target.md: Help, and how tests
// read what the target saw. A test checks that the file is current.
func Doc() string {
	var b strings.Builder
	b.WriteString(`# The built-in target (` + "`ntx serve`" + `)

<!-- Generated from engine/target (Help) by go generate; do not edit. -->

` + "`ntx serve`" + ` starts a target on loopback that speaks everything ntx can send, so that
scenarios can be tried (and tested) on one machine. ` + "`ntx serve --help`" + ` prints the same.

` + "```text\n")
	b.WriteString(Help)
	b.WriteString("```\n")
	b.WriteString(`
## Trying it

` + "```sh" + `
bin/ntx serve --ca-out ./ca.pem &
curl --cacert ./ca.pem --http2 https://localhost:18443/health
curl --http2-prior-knowledge http://127.0.0.1:18080/health
dig @127.0.0.1 -p 18053 alias.ntx.test A
` + "```" + `

In a scenario saved in the same directory as ` + "`ca.pem`" + `, ` + "`tls: {ca: ca.pem}`" + ` trusts the
target (a TLS file's path is relative to the scenario and must stay inside its directory),
and
` + "`dns: {servers: [\"127.0.0.1:18053\"]}`" + ` resolves names under ` + "`ntx.test`" + ` through it.

## What the target records (for tests)

` + "`target.StartEphemeral()`" + ` (or ` + "`target.Start(target.EphemeralConfig())`" + ` after changing
the config: a client CA, ` + "`CAOut`" + `) starts every listener on a free loopback port;
` + "`Seen()`" + ` returns what arrived, one entry per HTTP request, TCP line, UDP datagram, DNS
query, WebSocket message and failed TLS handshake, with:

| field | meaning |
|---|---|
| ` + "`Proto`" + ` | ` + "`http`" + ` (any version, plain or TLS), ` + "`tcp`, `udp`, `dns`, `ws`, `proxy`" + ` (Method CONNECT or the method, Path the destination), ` + "`tls`" + ` (a failed handshake; ` + "`Body`" + ` is the reason) |
| ` + "`Version`" + ` | ` + "`HTTP/1.1`, `HTTP/2.0`, `HTTP/3.0`" + ` |
| ` + "`Network`" + ` | ` + "`tcp`" + ` or ` + "`udp`" + ` (HTTP/3 and DNS over UDP) |
| ` + "`Source`, `Addr`" + ` | the sender's IP, and IP:port, of the TCP connection, UDP datagram or QUIC flow |
| ` + "`SNI`, `TLSVersion`, `ALPN`" + ` | what the TLS handshake settled |
| ` + "`ClientCert`" + ` | the subject of the verified client certificate (mutual TLS) |
| ` + "`Cipher`, `Curve`, `Resumed`" + ` | the TLS cipher suite, the key exchange, and whether the session was resumed from a ticket |
| ` + "`Method`, `Path`" + ` | for DNS: the query type and the name; ` + "`Body`" + ` the response code; ` + "`Truncated`" + ` the TC flag |
| ` + "`Cookies()`" + ` | the cookies an HTTP request carried |

` + "`DNSQueries(name, type)`" + ` counts the queries for a name; ` + "`CAPEM()`/`CAPool()`" + ` give the CA to
trust; ` + "`target.NewCA`" + ` makes other CAs and client certificates for tests.
`)
	return b.String()
}
