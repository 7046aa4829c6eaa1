"""File and wire formats, at the edges of the core model: Label Studio JSON, TextGrid, JSONL."""
