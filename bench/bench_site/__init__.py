"""A minimal Django site for the benchmarks: the package's WebSocketView and a naive baseline."""
