"""The steps `sam build` runs for the functions and layers (lambda.mk, included by their Makefiles),
beside what they build rather than inside tools/: bytecode for Lambda's python3.12, the layer's libraries."""
