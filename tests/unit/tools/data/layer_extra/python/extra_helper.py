NAME = "extra-layer"
