"""A year of weekly rounds, simulated: `generator` draws synthetic schemes, households and homes
(deterministic per seed; also the benchmarks' instances); `simulate` runs the engine and the
baseline policies of `matching.policies` on one shared arrival stream and measures them."""
