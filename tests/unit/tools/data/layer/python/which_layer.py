# Also in layer_extra: the first layer listed (this one, from Globals) wins, as in /opt/python.
NAME = "shared-layer"
