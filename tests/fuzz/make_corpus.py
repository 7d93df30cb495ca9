#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ (run from the repo
root: python3 tests/fuzz/make_corpus.py). Tokens are signed with FUZZ_SECRET
of tests/fuzz/fuzz_token.h and are valid at the targets' fixed time
(1700000000). Each file is one input; names say what it is."""
import base64, hashlib, hmac, json, os, shutil

SECRET = b"fuzz-secret-0123456789abcdef"
NOW = 1700000000
RS = "\x1e"

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def tok(header, payload, secret=SECRET):
    h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    p = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    si = b64(h.encode()) + "." + b64(p.encode())
    sig = hmac.new(secret, si.encode(), hashlib.sha256).digest()
    return si + "." + b64(sig)

HS = {"alg": "HS256", "typ": "JWT"}
EXP = NOW + 3600

def write(target, files):
    d = os.path.join("tests/fuzz/corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in files.items():
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

msg = {
    "text_plain": "hello world",
    "text_empty": "",
    "text_brace": " {",
    "text_utf8": "caf\u00e9 \u2603",
    "text_invalid_utf8": b"\xff\xfe\x80abc",
    "object_no_type": '{"data":1}',
    "object_type_number": '{"type":5,"id":1}',
    "echo": '{"type":"echo","data":{"a":[1,2.5,null,true,"x"]},"id":1}',
    "echo_no_data": '{"type":"echo"}',
    "echo_ws_prefix": ' \r\n\t{"type":"echo","data":"x","id":"e1"}',
    "ping": '{"type":"ping","id":"p1"}',
    "broadcast": '{"type":"broadcast","data":"hi everyone","id":2}',
    "send": '{"type":"send","to":"bob","data":{"x":1},"id":3}',
    "send_self": '{"type":"send","to":"alice","data":null}',
    "send_bad_to": '{"type":"send","to":"bad id","data":1}',
    "send_to_number": '{"type":"send","to":7}',
    "subscribe": '{"type":"subscribe","channel":"news","id":4}',
    "subscribe_sys": '{"type":"subscribe","channel":"$sys"}',
    "subscribe_since": '{"type":"subscribe","channel":"room.1","since":"1700000000123-5"}',
    "subscribe_since_number": '{"type":"subscribe","channel":"news","since":5}',
    "subscribe_bad": '{"type":"subscribe","channel":"a b"}',
    "subscribe_long": '{"type":"subscribe","channel":"' + "c" * 129 + '"}',
    "unsubscribe": '{"type":"unsubscribe","channel":"news","id":[1]}',
    "publish": '{"type":"publish","channel":"news","data":{"text":"hi"},"id":5}',
    "publish_sys": '{"type":"publish","channel":"$sys","data":1}',
    "publish_room": '{"type":"publish","channel":"room.2","data":"x"}',
    "publish_nul": '{"type":"publish","channel":"ne\\u0000ws","data":1}',
    "unknown_type": '{"type":"shout","data":1}',
    "duplicate_key": '{"type":"echo","type":"ping"}',
    "nul_in_data": '{"type":"echo","data":"a\\u0000b"}',
    "deep": '{"type":"echo","data":' + "[" * 300 + "]" * 300 + "}",
    "numbers": '{"type":"echo","data":[1e308,-0,123456789012345678901234567890,0.1e-400]}',
    "escapes": '{"type":"echo","data":"\\ud83d\\ude00\\n\\t\\"\\\\"}',
    "bad_json": '{"type":"echo",',
    "seq_sub_pub": RS.join([
        '{"type":"subscribe","channel":"news"}',
        '{"type":"publish","channel":"news","data":1,"id":1}',
        '{"type":"subscribe","channel":"room.9"}',
        '{"type":"send","to":"alice","data":"dm"}',
        '{"type":"broadcast","data":{"b":2}}',
        '{"type":"unsubscribe","channel":"news"}',
        '{"type":"publish","channel":"room.9","data":[]}',
        "plain text",
    ]),
    "seq_limit": RS.join([
        '{"type":"ping"}',
        '{"type":"ping"}',
        '{"type":"subscribe","channel":"one-more","id":1}',
        '{"type":"ping"}',
        '{"type":"ping"}',
        '{"type":"subscribe","channel":"over-limit","id":2}',
        '{"type":"publish","channel":"s7","data":"to alice2"}',
    ]) + RS,
    "seq_slow_consumer": RS.join(
        ['{"type":"echo","data":"%s"}' % ("x" * 200)] * 3 +
        ['{"type":"broadcast","data":"%s"}' % ("y" * 200)] * 3),
    "seq_grant": RS.join([
        '{"type":"ping"}',
        '{"type":"subscribe","channel":"secret"}',
        '{"type":"publish","channel":"room.1","data":1}',
        '{"type":"subscribe","channel":"$sys"}',
    ]),
}
write("fuzz_message", msg)

auth = {
    "ok": tok(HS, {"sub": "alice", "exp": EXP}),
    "ok_channels": tok(HS, {"sub": "alice", "exp": EXP, "channels": ["news", "room.*", "$sys"]}),
    "ok_star": tok({"alg": "HS256"}, {"sub": "alice", "exp": EXP, "channels": ["*"]}),
    "ok_empty_channels": tok(HS, {"sub": "alice", "exp": EXP, "channels": []}),
    "ok_nbf": tok(HS, {"sub": "alice", "exp": EXP, "nbf": NOW - 10, "iat": NOW - 10}),
    "ok_bob_lines": tok(HS, {"sub": "bob", "exp": EXP, "channels": ["room.*"]}) + "\nbob\nroom.5",
    "ok_lines_denied": tok(HS, {"sub": "alice", "exp": EXP, "channels": ["news"]}) + "\nalice\nother",
    "expired": tok(HS, {"sub": "alice", "exp": NOW - 31}),
    "expired_leeway": tok(HS, {"sub": "alice", "exp": NOW - 29}),
    "no_exp": tok(HS, {"sub": "alice"}),
    "nbf_future": tok(HS, {"sub": "alice", "exp": EXP, "nbf": NOW + 31}),
    "wrong_sub": tok(HS, {"sub": "alice2", "exp": EXP}),
    "sub_number": tok(HS, {"sub": 1, "exp": EXP}),
    "exp_string": tok(HS, {"sub": "alice", "exp": str(EXP)}),
    "channels_string": tok(HS, {"sub": "alice", "exp": EXP, "channels": "news"}),
    "channels_mixed": tok(HS, {"sub": "alice", "exp": EXP, "channels": ["a", 1]}),
    "alg_none": tok({"alg": "none"}, {"sub": "alice", "exp": EXP}).rsplit(".", 1)[0] + ".",
    "alg_hs512": tok({"alg": "HS512"}, {"sub": "alice", "exp": EXP}),
    "alg_lower": tok({"alg": "hs256"}, {"sub": "alice", "exp": EXP}),
    "alg_missing": tok({"typ": "JWT"}, {"sub": "alice", "exp": EXP}),
    "wrong_secret": tok(HS, {"sub": "alice", "exp": EXP}, b"another-secret-xyz"),
    "header_array": tok('["HS256"]', {"sub": "alice", "exp": EXP}),
    "payload_array": tok(HS, "[1,2]"),
    "dup_claim": tok(HS, '{"sub":"alice","sub":"alice","exp":%d}' % EXP),
    "two_parts": b64(b'{"alg":"HS256"}') + "." + b64(b'{"sub":"alice"}'),
    "padded": b64(b'{"alg":"HS256"}') + "=." + b64(b"{}") + ".AAAA",
    "four_parts": tok(HS, {"sub": "alice", "exp": EXP}) + ".AAAA",
    "empty_parts": "..",
    "long": tok(HS, {"sub": "alice", "exp": EXP, "pad": "p" * 2900}),
    "nul": tok(HS, {"sub": "alice", "exp": EXP})[:20] + "\0" + tok(HS, {"sub": "alice", "exp": EXP})[21:],
    # JSON mode: claims as plain JSON, encoded and signed by the target
    "json_ok": '{"sub":"alice","exp":%d}' % EXP,
    "json_header_channels": '{"alg":"HS256","typ":"JWT"}\t{"sub":"alice","exp":%d,"channels":["news","room.*"]}\nalice\nroom.7' % EXP,
    "json_bob_nbf": '{"sub":"bob","exp":%d,"nbf":%d}\nbob' % (NOW + 100, NOW + 20),
    "json_alg_none": '{"alg":"none"}\t{"sub":"alice","exp":%d}' % EXP,
    "json_exp_string": '{"sub":"alice","exp":"%d"}' % EXP,
}
write("fuzz_auth", auth)

many = ",".join("c%d" % i for i in range(64))
hs = {
    "plain": "/ws/alice",
    "channels_nul": "/ws/alice\0channels=news,room.1\0token=abc",
    "channels_amp": "/ws/alice&channels=a,,b&channels=c,$sys",
    "channels_64": "/ws/bob&channels=" + many,
    "channels_65": "/ws/bob&channels=" + many + ",c64",
    "channels_bad": "/ws/bob&channels=ok,no pe",
    "channels_empty": "/ws/bob&channels=",
    "long_query": "/ws/bob&x=" + "q" * 4100,
    "ws_only": "/ws",
    "ws_slash": "/ws/",
    "root": "/",
    "empty": "",
    "nested": "/ws/a/b",
    "reserved": "/ws/$sys",
    "id_64": "/ws/" + "x" * 64,
    "id_65": "/ws/" + "x" * 65,
    "id_charset": "/ws/user_1.eu:west@h-2",
    "utf8": "/ws/caf\u00e9",
    "origin": "https://a.example",
    "origin_list": "https://b.example:8443&https://a.example,https://b.example:8443&https://b.example:8443",
    "origin_empty_items": "http://x&,,http://x,&",
}
write("fuzz_handshake", hs)

rd = {
    "channel_json": 'news\n{"text":"hi","n":1}',
    "channel_text": "room.1\nplain text payload",
    "channel_nobody": "nobody\n[1,2,3]",
    "broadcast": 'broadcast\n"to everyone"',
    "client": 'client:alice\n{"x":true}',
    "client_absent": "client:dave\n1",
    "client_bad": "client:bad id\n1",
    "client_empty": "client:\n1",
    "internal_broadcast": '$broadcast\n{"from":"bob","data":{"b":1}}',
    "internal_client": '$client:alice\n{"from":"bob","data":"dm"}',
    "internal_channel": '$channel:news\n{"from":"carol","data":[1]}',
    "internal_channel_sys": '$channel:$sys\n{"from":"carol","data":1}',
    "internal_no_from": '$broadcast\n{"data":1}',
    "internal_bad_from": '$broadcast\n{"from":"a b","data":1}',
    "internal_from_nul": '$broadcast\n{"from":"bo\\u0000b","data":1}',
    "internal_no_data": '$channel:news\n{"from":"bob"}',
    "internal_dup": '$channel:news\n{"from":"bob","from":"eve","data":1}',
    "internal_not_json": "$client:bob\nnot json",
    "internal_array": '$broadcast\n["from","bob"]',
    "keepalive": "$keepalive:node-1:0\nping",
    "sys": '$sys\n{"x":1}',
    "invalid_utf8": b"news\n\xff\xfe\xfd",
    "nul_payload": b"news\nab\0cd",
    "nul_json": 'news\n{"a":"\\u0000"}',
    "empty_payload": "news\n",
    "empty_channel": "\nx",
    "too_big": "news\n" + "x" * 3000,
    "deep": "news\n" + "[" * 2040 + "]" * 2040,
    "raw_no_newline": '{"just":"a payload on news"}',
    "number": "room.1\n-12.5e3",
}
write("fuzz_redis_payload", rd)
