"""OpenAI's Batch API over ChatGPT: a durable queue of lines asked when the tabs are idle.

`service.py` (create, cancel, read), `store.py` (the SQLite queue), `input.py` (checking
the input file), `endpoints.py` (one line through its endpoint's own code path),
`runner.py` (the worker), `results.py` (output lines), `webhook.py` (the signed callback).
Kept out of `app/api/` so that the routes import it, never the other way round.
"""
