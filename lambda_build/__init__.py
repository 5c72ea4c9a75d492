"""The steps `sam build` runs for the functions and layers (lambda.mk, included by their Makefiles),
beside what they build rather than inside tools/: bytecode for Lambda's python3.12, the layer's libraries."""

import platform

# The Lambda architecture whose build this machine can import (a build for the template's default,
# arm64, holds compiled libraries an x86_64 host cannot load): what local builds and measurements ask for.
HOST_MACHINE = "aarch64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
HOST_ARCHITECTURE = {"aarch64": "arm64", "x86_64": "x86_64"}[HOST_MACHINE]
