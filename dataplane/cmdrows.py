#!/usr/bin/python3
"""Print command table rows (see commands.h) for the named commands, read off
a running redis-server 7.0's COMMAND INFO and COMMAND DOCS, as a starting
point for new rows:

    dataplane/cmdrows.py --port 6399 hset hget ... >> dataplane/cmdtab_hash.inc

The handler of "name" is cmd_name. Rows are reviewed and kept by hand after.
"""
import argparse
import redis

FLAGS = {
    "write": "CMD_WRITE", "readonly": "CMD_READONLY", "denyoom": "CMD_DENYOOM",
    "admin": "CMD_ADMIN", "noscript": "CMD_NOSCRIPT", "loading": "CMD_LOADING",
    "stale": "CMD_STALE", "fast": "CMD_FAST", "no_auth": "CMD_NO_AUTH",
    "allow_busy": "CMD_ALLOW_BUSY", "skip_slowlog": "CMD_SKIP_SLOWLOG",
    "no_multi": "CMD_NO_MULTI", "sentinel": "CMD_SENTINEL", "blocking": "CMD_BLOCKING",
    "movablekeys": "CMD_MOVABLEKEYS",
}


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def pairs(lst):
    return {s(lst[i]): lst[i + 1] for i in range(0, len(lst), 2)}


def cstr(v):
    if v is None:
        return "NULL"
    return '"' + s(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def args_spec(args):
    out = []
    for a in args:
        a = pairs(a)
        t = s(a["name"]) + "," + s(a["type"])
        if "token" in a:
            t += "," + s(a["token"])
        fl = [s(f) for f in a.get("flags", [])]
        t += "?" if "optional" in fl else ""
        t += "*" if "multiple" in fl else ""
        t += "#" if "multiple_token" in fl else ""
        if "arguments" in a:
            t += "(" + args_spec(a["arguments"]) + ")"
        out.append(t)
    return " ".join(out)


def keyspecs(specs):
    out, notes = [], None
    for i, sp in enumerate(specs):
        sp = pairs(sp)
        if i == 0 and "notes" in sp:
            notes = s(sp["notes"])
        bs, fk = pairs(sp["begin_search"]), pairs(sp["find_keys"])
        idx = pairs(bs["spec"]).get("index", 0)
        fs = pairs(fk["spec"])
        flags = " ".join(s(f) for f in sp["flags"])
        if s(fk["type"]) == "keynum":
            out.append(f"{flags};{idx};K{fs['keynumidx']},{fs['firstkey']},{fs['keystep']}")
        else:
            out.append(f"{flags};{idx};{fs.get('lastkey', 0)};{fs.get('keystep', 0)}")
    return ("|".join(out) or None), notes


def row(r, name):
    info = r.execute_command("COMMAND", "INFO", name)[0]
    docs = pairs(r.execute_command("COMMAND", "DOCS", name)[1])
    cname, arity, flags, first, last, step, acl, tips, specs = info[:9]
    fl = " | ".join(FLAGS[s(f)] for f in flags if s(f) in FLAGS) or "0"
    acl = " ".join(s(a).lstrip("@") for a in acl)
    ks, notes = keyspecs(specs)
    tips = " ".join(s(t) for t in tips) or None
    args = args_spec(docs["arguments"]) if "arguments" in docs else None
    numkeys = 0
    for sp in specs:
        sp = pairs(sp)
        fk = pairs(sp["find_keys"])
        if s(fk["type"]) == "keynum":
            idx = pairs(pairs(sp["begin_search"])["spec"])["index"]
            numkeys = idx + pairs(fk["spec"])["keynumidx"]
    fn = "cmd_" + s(cname).replace("|", "_")
    tail = f", NULL, {numkeys}, NULL"
    return (f'    {{"{s(cname)}", {fn}, {arity}, {fl}, {first}, {last}, {step}, "{acl}", '
            f'{cstr(docs["group"])}, {cstr(docs["since"])},\n'
            f'     {cstr(docs["complexity"])}, {cstr(docs["summary"])}, {cstr(ks)}, {cstr(notes)}, '
            f'{cstr(tips)}, {cstr(args)}{tail}}},')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    r = redis.Redis(port=a.port)
    r.set_response_callback("COMMAND", lambda resp, **kw: resp)
    for n in a.names:
        print(row(r, n))


if __name__ == "__main__":
    main()
