"""Finding, registering, editing and merging patients; the patient file."""
