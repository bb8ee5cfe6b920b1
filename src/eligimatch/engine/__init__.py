"""The row engine: compiled criteria evaluated against one patient, results and explanations."""
