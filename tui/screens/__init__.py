"""Screens pushed over the chat: source preview, saved chats, collections, ingest and help."""
