package target

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// A small shop behind a login, for scenarios that log users in with
// their own credentials and keep the session cookie: POST /login sets
// it, the /shop endpoints answer 401 without it. The session is
// stateless, the user's name signed with a key made at start, so that
// the target keeps nothing per user however many log in.

// SessionCookie is the name of the cookie POST /login sets.
const SessionCookie = "ntx_session"

// shopProducts is how many products the shop lists.
const shopProducts = 20

var shopKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("target: no randomness for the session key: %v", err))
	}
	return k
}()

// sessionFor returns the session value for user: its name and a MAC.
func sessionFor(user string) string {
	m := hmac.New(sha256.New, shopKey)
	m.Write([]byte(user))
	return user + "." + hex.EncodeToString(m.Sum(nil)[:12])
}

// sessionUser returns the user a request's session cookie names, if it
// is one the target signed.
func sessionUser(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i <= 0 {
		return "", false
	}
	user := c.Value[:i]
	return user, hmac.Equal([]byte(sessionFor(user)), []byte(c.Value))
}

// formValues reads a request's fields from a JSON object body or a form
// (URL-encoded body or query).
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(bodyOf(r), &m); err == nil {
			for k, v := range m {
				out[k] = strings.TrimSpace(fmt.Sprint(v))
			}
		}
		return out
	}
	if err := r.ParseForm(); err == nil {
		for k := range r.Form {
			out[k] = r.Form.Get(k)
		}
	}
	return out
}

func shopJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// shopRoutes adds the login and the shop.
func shopRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/login", serveLogin)
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
		shopJSON(w, http.StatusOK, map[string]any{"logged_out": true})
	})
	mux.HandleFunc("/shop/products", withSession(func(w http.ResponseWriter, r *http.Request, user string) {
		items := make([]map[string]any, shopProducts)
		for i := range items {
			items[i] = product(i + 1)
		}
		shopJSON(w, http.StatusOK, map[string]any{"user": user, "products": items})
	}))
	mux.HandleFunc("/shop/products/", withSession(func(w http.ResponseWriter, r *http.Request, user string) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/shop/products/"))
		if err != nil || id < 1 || id > shopProducts {
			shopJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("no product %q (ids are 1-%d)", strings.TrimPrefix(r.URL.Path, "/shop/products/"), shopProducts)})
			return
		}
		shopJSON(w, http.StatusOK, map[string]any{"user": user, "product": product(id)})
	}))
	mux.HandleFunc("/shop/checkout", withSession(func(w http.ResponseWriter, r *http.Request, user string) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			shopJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "POST a product_id"})
			return
		}
		id, err := strconv.Atoi(formValues(r)["product_id"])
		if err != nil || id < 1 || id > shopProducts {
			shopJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("product_id must be 1-%d", shopProducts)})
			return
		}
		p := product(id)
		shopJSON(w, http.StatusOK, map[string]any{"user": user, "order": fmt.Sprintf("o-%s-%d", user, id), "total": p["price"]})
	}))
}

// serveLogin accepts any non-empty username and password and sets the
// session cookie.
func serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		shopJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "POST username and password"})
		return
	}
	f := formValues(r)
	user, pass := f["username"], f["password"]
	if user == "" || pass == "" || strings.ContainsAny(user, ";, \t\"\\") {
		shopJSON(w, http.StatusUnauthorized, map[string]any{"error": "give a username (no spaces, commas, semicolons or quotes) and a password"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sessionFor(user), Path: "/", HttpOnly: true})
	shopJSON(w, http.StatusOK, map[string]any{"user": user})
}

// withSession answers 401 to a request without a valid session cookie.
func withSession(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := sessionUser(r)
		if !ok {
			shopJSON(w, http.StatusUnauthorized, map[string]any{"error": "log in first: POST /login sets the " + SessionCookie + " cookie"})
			return
		}
		h(w, r, user)
	}
}

// product is the shop's product id, the same on every target.
func product(id int) map[string]any {
	return map[string]any{"id": id, "name": fmt.Sprintf("product %d", id), "price": float64(id*250+99) / 100}
}
