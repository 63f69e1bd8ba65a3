package target

// Help describes every listener and endpoint of the target, for
// `ntx serve --help` and the reference docs.
const Help = `Listeners (defaults below; an empty address turns one off; --dot and --proxy are off
unless given, usually on the ports shown):
  --http  127.0.0.1:18080  HTTP/1.1, and HTTP/2 with prior knowledge (h2c)
  --https 127.0.0.1:18443  HTTPS: HTTP/1.1 and HTTP/2 by ALPN; HTTP/3 (QUIC) on the same port over UDP
  --tcp   127.0.0.1:18081  TCP line echo: each line sent comes back
  --udp   127.0.0.1:18082  UDP echo: each datagram comes back to its sender
  --dns   127.0.0.1:18053  DNS over UDP and TCP (the same port) for the zone ntx.test
  --dot   127.0.0.1:18853  (off unless given) DNS over TLS (RFC 7858) for the same zone, with the HTTPS certificate
  --proxy 127.0.0.1:18088  (off unless given) HTTP proxy: CONNECT tunnels and absolute-form requests, to loopback,
                           localhost and *.ntx.test only (--proxy-auth USER:PASSWORD asks for them)

HTTPS uses a certificate made at start, signed by a throwaway CA (ECDSA P-256),
valid for 127.0.0.1, ::1, localhost, ntx.test and *.ntx.test; --ca-out writes
the CA for clients to trust. --cert/--key serve a certificate of your own;
--client-ca asks for client certificates (mutual TLS) and verifies them.

HTTP endpoints (the same on every HTTP version, plain or TLS):
  GET  /health         {"status": "ok"}
  GET  /asset          JSON naming the caller's address
  POST /asset          echoes the request body and its content type
  ANY  /status/CODE    answers with that status code
  ANY  /delay/MS       answers after MS milliseconds
  ANY  /ip             the caller's source address, as text
  ANY  /reset          resets the connection (TCP RST) without answering; over HTTP/2
                       and HTTP/3 (and for every fault below), resets the request's stream
  ANY  /garbage        answers with bytes that are not HTTP, then closes
  ANY  /redirect/N     N redirects (302, or ?code=301|303|307|308), then 200
  ANY  /redirect-to    a redirect to ?url=URL
  ANY  /cookies        echoes the cookies received, as JSON
  ANY  /cookies/set    ?NAME=VALUE...: sets each cookie (Path=/)
  ANY  /cookies/delete ?NAME...: expires each cookie
  ANY  /cookies/set-with  one cookie with attributes: ?name=&value=&path=&domain=&max_age=
                       &secure=&http_only=&same_site=lax|strict|none
                       &redirect=URL: a 302 to URL instead of 200
  ANY  /drip           headers at once, then ?bytes=N (10) spread over ?duration=MS (1000)
  GET  /ws             WebSocket echo (HTTP/1.1 upgrade): each message comes back; any
                       subprotocol offered is accepted; ?set_cookie=NAME=VALUE: the 101
                       answer sets that cookie (Path=/)
  ANY  /gzip           ?size=N bytes of text in JSON (default 4096), gzip-encoded when accepted
                       (?corrupt=1: a gzip stream that does not decode)
  ANY  /basic-auth/USER/PASSWORD   200 with those Basic credentials, else 401
  ANY  /bearer         200 with a bearer token (?token=T: that one), else 401
  POST /multipart      the fields and files (name, type, size) of a multipart/form-data body

A small shop behind a login, for scenarios that log users in and keep the session
(the shop's endpoints answer 401, naming the login, without a valid session cookie):
  POST /login          form or JSON {username, password} (any non-empty pair): 200 and a
                       session cookie ntx_session (HttpOnly, Path=/) naming the user
  ANY  /logout         expires the session cookie
  GET  /shop/products  the 20 products (id, name, price), as JSON
  GET  /shop/products/ID   one product (ID 1-20)
  POST /shop/checkout  form or JSON {product_id}: an order, {"order", "total", "user"}

Fault injection, for a client's limits:
  ANY  /hdr/N                answers 200 with a header block of exactly N bytes
  ANY  /endless              answers 200 with a chunked body that never ends
  ANY  /reset-after/N        sends the first N bytes of a response, then resets
  ANY  /reset-after/headers  sends a response's header block, then resets
  TCP  a line "flood"        streams bytes (no newline) until the client closes

DNS zone ntx.test (every name in it exists; labels change the answer):
  NAME               A 127.0.0.1, AAAA ::1, TXT "name=NAME"; TTL 60
  ntx.test           also SOA, NS ns.ntx.test, MX 10 mail.ntx.test
  A-B-C-D.ntx.test   A A.B.C.D only (127-0-0-2.ntx.test is 127.0.0.2)
  v4.* / v6.*        only the A / only the AAAA record
  ttl-N.*            records with a TTL of N seconds
  alias.*            CNAME to the name without "alias" (alias.ntx.test: www.ntx.test)
  _SVC._PROTO.*      SRV records with the target's own ports: _http._tcp,
                     _https._tcp, _https._udp, _dns._udp, _dns._tcp, _echo._tcp, _echo._udp
  big.*              300 records: truncated over UDP (TC), complete over TCP
  tc.*               always truncated over UDP, with no records; complete over TCP
  delay-MS.*         answered after MS milliseconds (at most 5000)
  nxdomain.* servfail.* refused.*   that response code
  PTR                127.0.0.1 and ::1 give localhost.ntx.test; 127.X.Y.Z gives 127-X-Y-Z.ntx.test
`
