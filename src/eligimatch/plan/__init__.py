"""Check and bind: a trial's AST resolved against the catalogs."""
