"""``pms-sync-server``: ``serve`` and the ``admin`` commands (see ``cli_admin.py``).

Options may also come from a TOML file (``--config``, see installers/server/sync-server.toml);
the command line wins over the file. The store is ``--database-url`` or ``--data-dir``
(``DIR/server.db``), else ``PMS_SYNC_DATABASE_URL``, else ``./data``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

from sync_server.errors import ServerError
from sync_server.settings import RateLimit, Settings, SettingsError, sqlite_url


def add_store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--data-dir", help="embedded SQLite store in DIR/server.db")
    group.add_argument("--database-url", help="postgresql+psycopg://user@host/db or sqlite:///f")
    parser.add_argument("--config", help="TOML file with the same option names")


def database_url(args: argparse.Namespace, config: dict[str, Any]) -> str:
    if args.database_url:
        return str(args.database_url)
    if args.data_dir:
        return sqlite_url(args.data_dir)
    if config.get("database_url"):
        return str(config["database_url"])
    if config.get("data_dir"):
        return sqlite_url(str(config["data_dir"]))
    return os.environ.get("PMS_SYNC_DATABASE_URL") or sqlite_url("data")


def load_config(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the server")
    add_store_options(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--tls-cert")
    serve.add_argument("--tls-key")
    serve.add_argument("--workers", type=int, help="worker processes (PostgreSQL only)")
    serve.add_argument("--allow-plain-http", action="store_true", default=None,
                       help="plain HTTP on a public address (behind a TLS proxy)")
    serve.add_argument("--forwarded-allow-ips",
                       help="proxies trusted for X-Forwarded-* (default 127.0.0.1)")
    serve.add_argument("--public-base-url", help="https://host as clients see it")
    serve.add_argument("--max-body-bytes", type=int)
    serve.add_argument("--log-level")


def settings_from(args: argparse.Namespace, config: dict[str, Any]) -> Settings:
    def pick(name: str, default: Any) -> Any:
        value = getattr(args, name, None)
        return value if value is not None else config.get(name, default)

    rate = config.get("auth_rate", {})
    return Settings(
        database_url=database_url(args, config), host=pick("host", "127.0.0.1"),
        port=int(pick("port", 8443)), tls_cert=pick("tls_cert", None),
        tls_key=pick("tls_key", None), allow_plain_http=bool(pick("allow_plain_http", False)),
        workers=int(pick("workers", 1)), max_body_bytes=int(pick("max_body_bytes", 8 << 20)),
        push_slots=int(pick("push_slots", 2)),
        public_base_url=pick("public_base_url", None), log_level=pick("log_level", "INFO"),
        auth_rate=RateLimit(**rate) if isinstance(rate, dict) else RateLimit())


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sync_server import logs, workers
    from sync_server.app import create_app, settle_memory
    from sync_server.store import migrate
    from sync_server.store.db import Database

    config = load_config(args.config)
    settings = settings_from(args, config)
    logs.configure(settings.log_level)
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)  # once, before any worker starts
    warning = db.statistics_warning()
    if warning:
        logging.getLogger("sync_server").warning(warning)
    db.dispose()
    common: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key, "access_log": False, "server_header": False,
        "proxy_headers": True, "log_config": None,
        "forwarded_allow_ips": args.forwarded_allow_ips or config.get("forwarded_allow_ips")
        or "127.0.0.1"}
    if settings.workers > 1:  # uvicorn's supervisor; see sync_server/workers.py
        os.environ["PMS_SYNC_SETTINGS"] = Settings(**{**settings.__dict__,
                                                      "run_migrations": False}).to_env()
        return workers.run(uvicorn.Config(
            "sync_server.app:factory", factory=True, workers=settings.workers,
            timeout_worker_healthcheck=workers.HEALTHCHECK_SECONDS,
            **{**common, "log_config": workers.log_config(settings.log_level)}))
    app = create_app(settings)
    settle_memory()
    uvicorn.run(app, **common)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from sync_server.cli_admin import add_admin_parser

    parser = argparse.ArgumentParser(prog="pms-sync-server",
                                     description="Clinic PMS central FHIR store and sync server")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    add_admin_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        from sync_server.cli_admin import run_admin
        return run_admin(args)
    except (SettingsError, ServerError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
