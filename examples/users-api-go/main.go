// Users API in Go with Gin: the same service as examples/users-api (FastAPI),
// for a Go backend. It keeps users in memory and publishes every change to
// herald's `users` channel through Redis, in the envelope the dashboard
// renders (web/dashboard.js):
//
//	GET    /users          every user, by id
//	GET    /users/:id      one user (404)
//	POST   /users          {"email","name","is_active"?} -> 201 + user.created
//	PUT    /users/:id      any of email, name, is_active -> 200 + user.updated
//	DELETE /users/:id      -> 204 + user.deleted
//
// A refused request (422 bad body or id, 404 unknown id, 409 email taken)
// changes nothing and publishes nothing. One mutex serialises each change
// with its event, so subscribers see events in the order of the changes.
//
// Debian packages only (golang-go, golang-github-gin-gonic-gin-dev,
// golang-github-gomodule-redigo-dev), built in GOPATH mode against them:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o users-api-go .
//	./users-api-go -addr 127.0.0.1:8001
//
// Environment: REDIS_URL (redis://[:password@]host:port[/db] or
// unix:///path; default redis://127.0.0.1:6379), HERALD_REDIS_PREFIX
// (herald's --redis-prefix, default "herald:").
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gomodule/redigo/redis"
)

// User is one user, its JSON fields in the dashboard's order.
type User struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	IsActive  bool   `json:"is_active"`
}

type userCreate struct {
	Email    string `json:"email" binding:"required,email,max=254"`
	Name     string `json:"name" binding:"required,min=1,max=200"`
	IsActive *bool  `json:"is_active"`
}

type userUpdate struct {
	Email    *string `json:"email" binding:"omitempty,email,max=254"`
	Name     *string `json:"name" binding:"omitempty,min=1,max=200"`
	IsActive *bool   `json:"is_active"`
}

// Publisher sends one event payload to a herald channel.
type Publisher interface {
	Publish(channel string, payload []byte) (string, error)
}

// redisPublisher publishes through Redis, as herald's backends do.
type redisPublisher struct {
	pool   *redis.Pool
	prefix string
}

// Publish is THE ONE PLACE WHERE THE REDIS COMMAND IS CHOSEN:
// FCALL herald_publish 1 <prefix>stream:<channel> <json> (docs/protocol.md,
// "History and resume") stores the event for clients that resume and
// publishes it in one atomic step; it returns the event's seq.
func (p *redisPublisher) Publish(channel string, payload []byte) (string, error) {
	conn := p.pool.Get()
	defer conn.Close()
	return redis.String(conn.Do("FCALL", "herald_publish", 1, p.prefix+"stream:"+channel, payload))
}

func newRedisPublisher(url, prefix string) *redisPublisher {
	dial := func() (redis.Conn, error) {
		opts := []redis.DialOption{redis.DialConnectTimeout(5 * time.Second),
			redis.DialReadTimeout(5 * time.Second), redis.DialWriteTimeout(5 * time.Second)}
		if path := strings.TrimPrefix(url, "unix://"); path != url {
			return redis.Dial("unix", path, opts...)
		}
		return redis.DialURL(url, opts...)
	}
	return &redisPublisher{pool: &redis.Pool{Dial: dial, MaxIdle: 2, IdleTimeout: time.Minute}, prefix: prefix}
}

// api holds the users and publishes their changes.
type api struct {
	mu     sync.Mutex
	users  map[int64]User
	nextID int64
	pub    Publisher
}

func newAPI(pub Publisher) *api {
	return &api{users: map[int64]User{}, nextID: 1, pub: pub}
}

// announce tells herald; the change stays made when Redis is down.
func (a *api) announce(event string, user any) {
	payload, _ := json.Marshal(map[string]any{"event": event, "user": user})
	seq, err := a.pub.Publish("users", payload)
	if err != nil {
		log.Printf("%s not published: %v", event, err)
		return
	}
	log.Printf("%s -> users seq %s", event, seq)
}

func fail(c *gin.Context, status int, detail string) {
	c.AbortWithStatusJSON(status, gin.H{"detail": detail})
}

// id parses :id; a bad one is refused with 422 as FastAPI does.
func id(c *gin.Context) (int64, bool) {
	n, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		fail(c, http.StatusUnprocessableEntity, "id must be an integer")
		return 0, false
	}
	return n, true
}

func (a *api) emailTaken(email string, except int64) bool {
	for _, u := range a.users {
		if u.Email == email && u.ID != except {
			return true
		}
	}
	return false
}

func (a *api) list(c *gin.Context) {
	a.mu.Lock()
	out := make([]User, 0, len(a.users))
	for _, u := range a.users {
		out = append(out, u)
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	c.JSON(http.StatusOK, out)
}

func (a *api) get(c *gin.Context) {
	n, ok := id(c)
	if !ok {
		return
	}
	a.mu.Lock()
	u, found := a.users[n]
	a.mu.Unlock()
	if !found {
		fail(c, http.StatusNotFound, "user not found")
		return
	}
	c.JSON(http.StatusOK, u)
}

func (a *api) create(c *gin.Context) {
	var body userCreate
	if err := c.ShouldBindJSON(&body); err != nil {
		fail(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.emailTaken(body.Email, 0) {
		fail(c, http.StatusConflict, "email already taken")
		return
	}
	u := User{ID: a.nextID, Email: body.Email, Name: body.Name,
		CreatedAt: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), IsActive: true}
	if body.IsActive != nil {
		u.IsActive = *body.IsActive
	}
	a.nextID++
	a.users[u.ID] = u
	a.announce("user.created", u)
	c.JSON(http.StatusCreated, u)
}

func (a *api) update(c *gin.Context) {
	n, ok := id(c)
	if !ok {
		return
	}
	var body userUpdate
	if err := c.ShouldBindJSON(&body); err != nil {
		fail(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if body.Email == nil && body.Name == nil && body.IsActive == nil {
		fail(c, http.StatusUnprocessableEntity, "nothing to update: give email, name or is_active")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, found := a.users[n]
	if !found {
		fail(c, http.StatusNotFound, "user not found")
		return
	}
	if body.Email != nil {
		if a.emailTaken(*body.Email, n) {
			fail(c, http.StatusConflict, "email already taken")
			return
		}
		u.Email = *body.Email
	}
	if body.Name != nil {
		u.Name = *body.Name
	}
	if body.IsActive != nil {
		u.IsActive = *body.IsActive
	}
	a.users[n] = u
	a.announce("user.updated", u)
	c.JSON(http.StatusOK, u)
}

func (a *api) remove(c *gin.Context) {
	n, ok := id(c)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, found := a.users[n]; !found {
		fail(c, http.StatusNotFound, "user not found")
		return
	}
	delete(a.users, n)
	a.announce("user.deleted", map[string]int64{"id": n})
	c.Status(http.StatusNoContent)
}

func (a *api) router() *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/users", a.list)
	r.GET("/users/:id", a.get)
	r.POST("/users", a.create)
	r.PUT("/users/:id", a.update)
	r.DELETE("/users/:id", a.remove)
	return r
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	flag.Parse()
	if os.Getenv("GIN_MODE") == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	url := env("REDIS_URL", "redis://127.0.0.1:6379")
	prefix := env("HERALD_REDIS_PREFIX", "herald:")
	a := newAPI(newRedisPublisher(url, prefix))
	log.Printf("users-api-go on http://%s, publishing to %susers on %s", *addr, prefix, url)
	log.Fatal(a.router().Run(*addr))
}
