"""The round engine against independent solvers (brute force, CP-SAT), and the generator and benchmarks."""
