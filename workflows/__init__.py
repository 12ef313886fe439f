"""The engine layer: loading, versioning, running and persisting BPMN processes."""
