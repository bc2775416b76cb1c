"""Unit tests of the sans-IO protocol machines in gateway.protocol."""
