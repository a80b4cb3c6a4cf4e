"""Face and plate detection on ONNX Runtime (no Qt, no model hub)."""
