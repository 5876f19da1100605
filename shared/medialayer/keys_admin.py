"""Admin CLI for enterprise keys.

    python -m medialayer.keys_admin [--table T | --file F] create --name acme --limit 600 --window 60
    python -m medialayer.keys_admin [--table T | --file F] list [--json]
    python -m medialayer.keys_admin [--table T | --file F] revoke KEY_ID

The store is the DynamoDB table ``--table`` (default ``MEDIALAYER_KEYS_TABLE``) or the JSON file ``--file``
(default ``MEDIALAYER_KEYS_FILE``). Keys are hashed with ``MEDIALAYER_KEY_PEPPER``, which must be the same
value the API functions use. ``create`` prints the plaintext key once, on stdout; it is stored nowhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from medialayer.keys import DynamoKeyStore, FileKeyStore, KeyStore, new_key
from medialayer.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m medialayer.keys_admin", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--table", help="DynamoDB keys table (default: $MEDIALAYER_KEYS_TABLE)")
    where.add_argument("--file", help="JSON key file for local use (default: $MEDIALAYER_KEYS_FILE)")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="customer / purpose")
    create.add_argument("--limit", type=int, required=True, help="requests allowed per window")
    create.add_argument("--window", type=int, default=60, help="window length in seconds (default 60)")
    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    return parser


def open_store(table: str | None, file: str | None, settings: Settings, client: Any | None = None) -> KeyStore:
    """The store chosen by flags, falling back to settings; error if neither names one."""
    if table or (not file and settings.keys_table):
        return DynamoKeyStore(table or settings.keys_table, client=client)
    if file or settings.keys_file:
        return FileKeyStore(file or settings.keys_file)
    raise SystemExit("no key store: pass --table or --file (or set MEDIALAYER_KEYS_TABLE / MEDIALAYER_KEYS_FILE)")


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    client: Any | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the CLI; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    settings = settings or Settings()
    store = open_store(args.table, args.file, settings, client)

    if args.command == "create":
        if not settings.key_pepper:
            print("warning: MEDIALAYER_KEY_PEPPER is empty; the key hash is unpeppered.", file=err)
        try:
            plaintext, record = new_key(args.name, args.limit, args.window, settings.key_pepper)
        except ValueError as exc:
            print(f"error: {exc}", file=err)
            return 2
        store.put(record)
        print(f"key_id: {record.key_id}", file=err)
        print("Store this key now; it cannot be shown again:", file=err)
        print(plaintext, file=out)
        return 0

    if args.command == "list":
        records = store.list()
        if args.json:
            print(json.dumps([r.public() for r in records], indent=2), file=out)
            return 0
        print(f"{'KEY_ID':<14}{'NAME':<24}{'LIMIT':>7}/{'WINDOW':<8}{'CREATED (UTC)':<22}STATUS", file=out)
        for r in records:
            created = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
            status = "revoked" if r.revoked else "active"
            print(
                f"{r.key_id:<14}{r.name[:23]:<24}{r.limit_per_window:>7}/{r.window_s:<8}{created:<22}{status}",
                file=out,
            )
        return 0

    if args.command == "revoke":
        if store.revoke(args.key_id):
            print(f"revoked {args.key_id}", file=out)
            return 0
        print(f"error: no key with id {args.key_id}", file=err)
        return 1
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    raise SystemExit(main())
