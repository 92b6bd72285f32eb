"""Each hard rule of the matching alone, the debt-limit sweep, and the per-band debt limits."""
