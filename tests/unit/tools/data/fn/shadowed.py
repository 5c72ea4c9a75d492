# Also in the shared layer: the function's code comes first on the path.
WHERE = "function"
