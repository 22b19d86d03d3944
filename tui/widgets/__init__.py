"""The main screen's widgets: conversation, sources panel and status bar."""
