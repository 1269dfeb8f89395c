"""The pieces of the stream inbox: SSE framing, JSON-pointer operations, messages, attempts.

`browser.decoder.StreamDecoder` puts them together; each module here is pure and small.
"""
