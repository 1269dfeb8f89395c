"""A stand-in for pyngrok with the same import surface the bridge uses.

Tests put `tests/fakes` first on `sys.path`; `ngrok.connect` then records its call and
returns a tunnel object, or fails the way the real one does for a bad token.
"""
