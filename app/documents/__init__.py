"""Enrollment documents: uploaded images, their storage, and the pre-filled application form."""
