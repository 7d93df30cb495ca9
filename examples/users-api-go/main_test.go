// Tests of the Gin Users API with a recording Publisher (no Redis): each
// change publishes exactly one event in the dashboard's envelope, in order;
// refused requests publish nothing. tests/integration/users-api.test.mjs
// runs the binary against a real Redis and herald.
package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

type recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *recorder) Publish(channel string, payload []byte) (string, error) {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", err
	}
	ev["_channel"] = channel
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return "1-0", nil
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	if w.Body.Len() > 0 && strings.HasPrefix(w.Body.String(), "{") {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body.String(), err)
		}
	}
	return w.Code, out
}

func setup() (*recorder, http.Handler) {
	gin.SetMode(gin.TestMode)
	rec := &recorder{}
	return rec, newAPI(rec).router()
}

func TestCreateUpdateDeletePublishOneEventEach(t *testing.T) {
	rec, h := setup()
	code, created := do(t, h, "POST", "/users", `{"email":"ada@example.com","name":"Ada Lovelace"}`)
	if code != 201 || created["id"] != float64(1) || created["is_active"] != true {
		t.Fatalf("POST: %d %v", code, created)
	}
	code, updated := do(t, h, "PUT", "/users/1", `{"name":"Ada King","is_active":false}`)
	if code != 200 || updated["name"] != "Ada King" || updated["is_active"] != false ||
		updated["created_at"] != created["created_at"] {
		t.Fatalf("PUT: %d %v", code, updated)
	}
	if code, _ := do(t, h, "DELETE", "/users/1", ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := do(t, h, "GET", "/users/1", ""); code != 404 {
		t.Fatalf("GET after DELETE: %d", code)
	}
	want := []map[string]any{
		{"_channel": "users", "event": "user.created", "user": created},
		{"_channel": "users", "event": "user.updated", "user": updated},
		{"_channel": "users", "event": "user.deleted", "user": map[string]any{"id": float64(1)}},
	}
	if !reflect.DeepEqual(rec.events, want) {
		t.Fatalf("events:\n got %v\nwant %v", rec.events, want)
	}
}

func TestRefusalsPublishNothing(t *testing.T) {
	rec, h := setup()
	if code, _ := do(t, h, "POST", "/users", `{"email":"grace@example.com","name":"Grace Hopper"}`); code != 201 {
		t.Fatalf("POST: %d", code)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/users", `{"email":"not-an-email","name":"X"}`, 422},
		{"POST", "/users", `{"name":"no email"}`, 422},
		{"POST", "/users", `{"email": "broken json`, 422},
		{"POST", "/users", `{"email":"grace@example.com","name":"Grace again"}`, 409},
		{"PUT", "/users/1", `{}`, 422},
		{"PUT", "/users/1", `{"name":""}`, 422},
		{"PUT", "/users/999999", `{"name":"Nobody"}`, 404},
		{"DELETE", "/users/999999", "", 404},
		{"GET", "/users/999999", "", 404},
		{"GET", "/users/not-a-number", "", 422},
	} {
		if code, body := do(t, h, c.method, c.path, c.body); code != c.status {
			t.Errorf("%s %s %s: %d %v, want %d", c.method, c.path, c.body, code, body, c.status)
		}
	}
	if len(rec.events) != 1 {
		t.Fatalf("refusals published: %v", rec.events[1:])
	}
}
