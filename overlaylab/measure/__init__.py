"""Benchmarks: bring-up, probing, scale, migration, throughput, the failure drill and the soak."""
