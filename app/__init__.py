"""Obscura: on-premise video anonymisation."""

import os as _os

__version__ = "0.1.0"

# ONNX Runtime 1.2x+ ships Microsoft's 1DS telemetry: on import it writes a device id and an event
# store under ~/.cache/Microsoft/DeveloperTools and uploads to mobile.events.data.microsoft.com.
# Obscura never phones home: switched off here, before anything can import onnxruntime (it reads
# this at import). app.detection.sessions also calls onnxruntime.disable_telemetry_events().
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
