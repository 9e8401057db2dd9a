"""Home Assistant-free core of Net Stabilization: miner drivers, discovery, fleet control."""
