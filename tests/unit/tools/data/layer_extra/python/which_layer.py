# Also in layer: the first layer listed wins, so this module is never imported.
NAME = "extra-layer"
