"""The replica's routers, one per surface: site pages, backend reads, the conversation
turn, the thumbs' feedback, the WebSocket topic, and the `/_replica/*` test controls."""
