"""From per-frame detections to tracks (no Qt)."""
