"""Interoperability with other evaluation tools (inspect_ai): the benchmark as their task, our runs as their logs."""
