"""Project persistence: versioned JSON with thorough validation and atomic saves (no Qt)."""

from app.project_io.io import load_project, save_project
from app.project_io.schema import FORMAT, VERSION, project_from_dict, project_to_dict

__all__ = ["FORMAT", "VERSION", "load_project", "project_from_dict", "project_to_dict", "save_project"]
