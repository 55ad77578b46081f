"""The HTTP service: `mailwarden serve` (Starlette on uvicorn) and its verdict log.

Importing this package costs nothing: the web stack (the ``service`` extra: uvicorn, starlette,
prometheus-client) loads only in `mailwarden.service.app` and `mailwarden.service.server`.

- `config`: the service config file (tokens -> tenants, verdict log, limits), typed and checked.
- `log`: the verdict log (SQLite, WAL): every verdict and feedback, acknowledged after fsync.
- `app`: the ASGI app (`create_app`), one Engine per tenant per worker process.
- `server`: `serve()`, uvicorn with N worker processes sharing the log through WAL.
"""
