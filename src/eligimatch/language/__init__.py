"""The criteria language: grammar, parser, typed AST, formatter, lint."""
