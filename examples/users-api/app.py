"""Users API: the backend herald was made for, in FastAPI (examples/users-api).

A small CRUD service over SQLite that publishes every change to herald's
`users` channel through Redis, so that every browser subscribed to `users`
(the dashboard in web/, a wscat session) sees it live:

    GET    /users            every user, by id
    GET    /users/{id}       one user (404 when there is none)
    POST   /users            create: {"email", "name", "is_active"?} -> 201
    PUT    /users/{id}       update any of email, name, is_active -> 200
    DELETE /users/{id}       delete -> 204

Each change publishes one event with one Redis command, in the envelope the
dashboard renders (web/dashboard.js, onUserEvent):

    {"event":"user.created","user":{"id":1,"email":..,"name":..,"created_at":..,"is_active":true}}
    {"event":"user.updated","user":{...every field, as now...}}
    {"event":"user.deleted","user":{"id":1}}

A refused request (bad body: 422, unknown id: 404, email taken: 409)
changes nothing and publishes nothing. Changes and their events are
serialised by one lock, so events go out in the order the changes were
made.

Settings (environment): USERS_DB (SQLite file, default users.db; ":memory:"
keeps nothing), REDIS_URL (default redis://127.0.0.1:6379; redis://,
rediss:// or unix:// as redis-py reads them), HERALD_REDIS_PREFIX (herald's
--redis-prefix, default "herald:").

Debian packages only: python3-fastapi python3-uvicorn python3-redis; run
with Debian's interpreter (/usr/bin/python3):

    /usr/bin/python3 -m uvicorn app:app --app-dir examples/users-api --port 8000
"""
import json
import logging
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import List, Optional

import redis
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, constr

log = logging.getLogger("users-api")
log.setLevel(logging.INFO)
log.propagate = False  # beside uvicorn's own log lines, in their style
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
log.addHandler(_handler)

DB_PATH = os.environ.get("USERS_DB", "users.db")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
PREFIX = os.environ.get("HERALD_REDIS_PREFIX", "herald:")
CHANNEL = "users"

EMAIL = constr(strip_whitespace=True, max_length=254,
               regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME = constr(strip_whitespace=True, min_length=1, max_length=200)


class UserCreate(BaseModel):
    email: EMAIL
    name: NAME
    is_active: bool = True


class UserUpdate(BaseModel):
    email: Optional[EMAIL] = None
    name: Optional[NAME] = None
    is_active: Optional[bool] = None


class User(BaseModel):
    id: int
    email: str
    name: str
    created_at: str
    is_active: bool


# ------------------------------------------------------------------ storage

db = sqlite3.connect(DB_PATH, check_same_thread=False)
db.row_factory = sqlite3.Row
db.execute("""CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    is_active INTEGER NOT NULL)""")
db.commit()

# One change (and its event) at a time: SQLite's connection is shared by
# uvicorn's worker threads, and herald's subscribers must see the events in
# the order of the changes.
lock = threading.Lock()


def row_to_user(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "email": row["email"], "name": row["name"],
            "created_at": row["created_at"],
            "is_active": bool(row["is_active"])}


def find(user_id: int) -> dict:
    row = db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="user not found")
    return row_to_user(row)


# ------------------------------------------------------------------ herald

redis_client = redis.Redis.from_url(REDIS_URL, socket_timeout=5,
                                    socket_connect_timeout=5)


def publish_to_herald(channel: str, event: dict) -> str:
    """Publishes one event to herald's channel; returns the seq herald's
    clients see it with.

    THE ONE PLACE WHERE THE REDIS COMMAND IS CHOSEN:
    `FCALL herald_publish 1 <prefix>stream:<channel> <json>`
    (docs/protocol.md, "History and resume"), which stores the event in
    the channel's history for clients that reconnect and resume, and
    publishes it, in one atomic step. (A plain `PUBLISH <prefix><channel>`
    still works, without history or seq.)
    """
    payload = json.dumps(event, separators=(",", ":"))
    seq = redis_client.execute_command("FCALL", "herald_publish", 1,
                                       PREFIX + "stream:" + channel, payload)
    return seq.decode() if isinstance(seq, bytes) else str(seq)


def announce(event: str, user: dict) -> None:
    """The change is committed; tell herald. A Redis failure is logged and
    does not undo the change (the API stays up while Redis is down)."""
    try:
        seq = publish_to_herald(CHANNEL, {"event": event, "user": user})
        log.info("%s id=%s -> %s%s seq %s", event, user["id"], PREFIX,
                 CHANNEL, seq)
    except redis.RedisError as e:
        log.error("%s id=%s not published: %s", event, user["id"], e)


# --------------------------------------------------------------------- API

app = FastAPI(title="Users API (herald example)")


@app.get("/users", response_model=List[User])
def list_users():
    rows = db.execute("SELECT * FROM users ORDER BY id").fetchall()
    return [row_to_user(r) for r in rows]


@app.get("/users/{user_id}", response_model=User)
def get_user(user_id: int):
    return find(user_id)


@app.post("/users", response_model=User, status_code=201)
def create_user(body: UserCreate):
    with lock:
        created_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        created_at = created_at.replace("+00:00", "Z")
        try:
            cur = db.execute(
                "INSERT INTO users (email, name, created_at, is_active) "
                "VALUES (?, ?, ?, ?)",
                (body.email, body.name, created_at, int(body.is_active)))
            db.commit()
        except sqlite3.IntegrityError:
            db.rollback()
            raise HTTPException(status_code=409, detail="email already taken")
        user = find(cur.lastrowid)
        announce("user.created", user)
    return user


@app.put("/users/{user_id}", response_model=User)
def update_user(user_id: int, body: UserUpdate):
    changes = body.dict(exclude_none=True)
    if not changes:
        raise HTTPException(status_code=422,
                            detail="nothing to update: give email, name or is_active")
    with lock:
        find(user_id)
        sets = ", ".join(f"{k} = ?" for k in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        try:
            db.execute(f"UPDATE users SET {sets} WHERE id = ?", (*values, user_id))
            db.commit()
        except sqlite3.IntegrityError:
            db.rollback()
            raise HTTPException(status_code=409, detail="email already taken")
        user = find(user_id)
        announce("user.updated", user)
    return user


@app.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: int):
    with lock:
        find(user_id)
        db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        db.commit()
        announce("user.deleted", {"id": user_id})
    return Response(status_code=204)
