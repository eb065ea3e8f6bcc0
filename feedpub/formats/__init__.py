"""The output formats: their writers, suffixes, media types and checks."""
