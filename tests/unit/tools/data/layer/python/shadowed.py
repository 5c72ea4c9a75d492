# Also in fn/: the function's code comes first on the path, as /var/task does in Lambda.
WHERE = "layer"
