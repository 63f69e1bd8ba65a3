package target

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestShopNeedsTheSession: the shop answers 401 without the cookie
// POST /login sets, and with a forged or emptied one; with it, each
// endpoint answers as documented, naming the user who logged in.
func TestShopNeedsTheSession(t *testing.T) {
	srv := start(t, nil)
	base := "http://" + srv.HTTPAddr()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	call := func(method, path, ctype, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %q is not a JSON object", method, path, b)
		}
		return resp.StatusCode, m
	}
	for _, path := range []string{"/shop/products", "/shop/products/3"} {
		if code, m := call("GET", path, "", ""); code != 401 || !strings.Contains(m["error"].(string), "POST /login") {
			t.Errorf("%s without a session: %d %v", path, code, m)
		}
	}
	if code, _ := call("POST", "/login", "application/x-www-form-urlencoded", "username=ann"); code != 401 {
		t.Errorf("login without a password: %d", code)
	}
	if code, _ := call("GET", "/login", "", ""); code != 405 {
		t.Errorf("GET /login: %d", code)
	}
	if code, m := call("POST", "/login", "application/x-www-form-urlencoded", "username=ann&password=pw"); code != 200 || m["user"] != "ann" {
		t.Fatalf("login: %d %v", code, m)
	}
	u, _ := url.Parse(base)
	if cs := jar.Cookies(u); len(cs) != 1 || cs[0].Name != SessionCookie || !strings.HasPrefix(cs[0].Value, "ann.") {
		t.Fatalf("cookies after login: %v", cs)
	}
	code, m := call("GET", "/shop/products", "", "")
	if list, _ := m["products"].([]any); code != 200 || len(list) != 20 || m["user"] != "ann" {
		t.Errorf("products: %d %v", code, m)
	}
	if code, m := call("GET", "/shop/products/7", "", ""); code != 200 || m["product"].(map[string]any)["id"] != 7.0 {
		t.Errorf("product 7: %d %v", code, m)
	}
	if code, _ := call("GET", "/shop/products/21", "", ""); code != 404 {
		t.Errorf("product 21: %d", code)
	}
	if code, m := call("POST", "/shop/checkout", "application/json", `{"product_id": 7}`); code != 200 || m["order"] != "o-ann-7" || m["total"] != 18.49 {
		t.Errorf("checkout: %d %v", code, m)
	}
	if code, _ := call("POST", "/shop/checkout", "application/x-www-form-urlencoded", "product_id=0"); code != 400 {
		t.Errorf("checkout of product 0: %d", code)
	}
	// JSON logins work too, and a session names the user it was made for.
	if code, m := call("POST", "/login", "application/json", `{"username": "bob", "password": "x"}`); code != 200 || m["user"] != "bob" {
		t.Fatalf("JSON login: %d %v", code, m)
	}
	if _, m := call("GET", "/shop/products", "", ""); m["user"] != "bob" {
		t.Errorf("after bob's login the shop sees %v", m["user"])
	}
	// A forged session (another user's name on bob's MAC) is refused.
	bob := jar.Cookies(u)[0].Value
	jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: "eve" + bob[strings.LastIndexByte(bob, '.'):], Path: "/"}})
	if code, _ := call("GET", "/shop/products", "", ""); code != 401 {
		t.Errorf("forged session: %d", code)
	}
	call("ANY", "/logout", "", "")
	if cs := jar.Cookies(u); len(cs) != 0 {
		t.Errorf("cookies after logout: %v", cs)
	}
	// The target saw every request, the session cookie with them.
	var withSession int
	for _, s := range srv.Seen() {
		if c, err := (&http.Request{Header: s.Header}).Cookie(SessionCookie); err == nil && c.Value != "" {
			withSession++
		}
	}
	if withSession < 6 {
		t.Errorf("%d requests carried a session", withSession)
	}
}
