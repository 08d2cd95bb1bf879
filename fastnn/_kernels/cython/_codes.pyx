"""The compiled kernels' codes (declared in _codes.pxd), visible from Python."""
