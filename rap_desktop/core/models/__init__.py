"""Model registry (data), weight resolution, and the inference classes."""
