#!/usr/bin/env python3
"""Writes a large Django `dumpdata clients chat --indent 1` for benchmarking
`chatctl import django` (BENCHMARKS.md), streamed so it needs no memory.

    generate-django-dump.py MESSAGES OUT.json [--media-root DIR]

Shaped like the real dump in tests/fixtures/django: records in dumpdata's
order (clients, then chat's file uploads, messages, sessions), 8 messages a
session, conversations interleaved in pk order the way concurrent visitors
write them, one session in 16 with a CSV upload (its original written under
DIR/uploads/ when --media-root is given), non-ASCII text, some sessions
without a user.
"""

import argparse
import datetime
import json
import os
import uuid

CLIENTS = 20
PER_SESSION = 8
# Conversations open at once: consecutive message pks go to different sessions.
OPEN = 64
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def ts(ms):
    t = START + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def sid(n):
    return str(uuid.UUID(int=(0x5E55 << 112) | n, version=4))


def cid(n):
    return str(uuid.UUID(int=(0xC11E << 112) | n, version=4))


def record(out, first, model, pk, fields):
    if not first:
        out.write(",\n")
    body = json.dumps({"model": model, "pk": pk, "fields": fields}, indent=1, ensure_ascii=False)
    out.write(body)


def csv_rows(n):
    return [{"sku": f"SKU-{i}", "name": f"item {i} ✓", "price": f"{10 + i}.99"} for i in range(12)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("messages", type=int)
    parser.add_argument("out")
    parser.add_argument("--media-root")
    args = parser.parse_args()
    sessions = (args.messages + PER_SESSION - 1) // PER_SESSION
    if args.media_root:
        os.makedirs(os.path.join(args.media_root, "uploads"), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write("[\n")
        first = True
        for c in range(CLIENTS):
            record(out, first, "clients.client", cid(c), {
                "api_key": f"cb_bench{c:04d}" + "x" * 52, "name": f"Client {c}",
                "email": f"c{c}@bench.test",
                "config": {"whitelisted_domains": [f"*.c{c}.test"], "bot_name": f"Bot {c}"},
                "is_active": c != CLIENTS - 1, "created_at": ts(0), "updated_at": ts(0)})
            first = False
        pk = 0
        for s in range(0, sessions, 16):
            pk += 1
            rows = csv_rows(s)
            name = f"{sid(s)}_stock.csv"
            if args.media_root:
                with open(os.path.join(args.media_root, "uploads", name), "w", encoding="utf-8") as f:
                    f.write("sku,name,price\n")
                    f.writelines(f"{r['sku']},{r['name']},{r['price']}\n" for r in rows)
            record(out, False, "chat.fileupload", pk, {
                "session": sid(s), "original_name": "stock.csv",
                "file_path": f"/srv/chatbot/media/uploads/{name}", "file_type": "csv",
                "file_size": 0, "processed_data": {"headers": ["sku", "name", "price"],
                                                   "rows": rows, "totalRows": 12},
                "summary": "{}", "uploaded_at": ts(s * 1000 + 500), "is_active": True})
        pk = 0
        # Windows of OPEN sessions, their messages interleaved.
        for base in range(0, sessions, OPEN):
            window = range(base, min(base + OPEN, sessions))
            for turn in range(PER_SESSION):
                for s in window:
                    pk += 1
                    if pk > args.messages:
                        break
                    role = "user" if turn % 2 == 0 else "assistant"
                    record(out, False, "chat.message", pk, {
                        "session": sid(s), "role": role,
                        "content": f"Message {turn} of session {s}: is the 1.7 L kettle in stock? ünïcödé",
                        "timestamp": ts(s * 1000 + turn * 10),
                        "metadata": {"provider": "dummy", "model": "dummy-1.0"} if role == "assistant" else {}})
        for s in range(sessions):
            user = None if s % 5 == 0 else f"user{s % 997}@bench.test"
            record(out, False, "chat.session", sid(s), {
                "client": cid(s % CLIENTS), "user_identifier": user,
                "config": {"botName": "Bench", "pageContext": {"url": f"https://c.test/p/{s}"}},
                "created_at": ts(s * 1000), "last_activity": ts(s * 1000 + PER_SESSION * 10)})
        out.write("\n]\n")


if __name__ == "__main__":
    main()
