"""Questions asked of the engine many times over: sweeps, levers, uncertainty, fronts, seek."""
