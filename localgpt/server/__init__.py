"""`localgpt serve`: the OpenAI-compatible API over the same rag/ path as `ask` and `chat`.

`info` and `client` stay light (no FastAPI, no models) because `ask` imports them on every run.
"""
