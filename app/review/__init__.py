"""Enrollment review: submitting enrollments into the BPMN review process."""
