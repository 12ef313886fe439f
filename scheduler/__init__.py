"""The scheduler process: APScheduler with its job store in the application database.

Jobs run only here, never in web workers, so a timer fires in one place.
"""
