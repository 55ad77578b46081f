"""The milter: `mailwarden milter` scores mail inline in Postfix or Sendmail (docs/milter.md).

Importing this package costs nothing: pymilter (the ``milter`` extra, built against libmilter)
loads only in `mailwarden.milter.server`.

- `config`: the `milter:` section of the service config (socket, error policy, size limit).
- `core`: the decision for one message, apart from the milter library: score, log, reply.
- `server`: libmilter's callbacks (pymilter) mapped onto `core`, and `run()`.
- `lab`: a private Postfix instance on 127.0.0.1 for trying it, its test and its benchmark.
"""
