"""Start-up and session screens: first-run wizard, sign-in, MFA enrolment, idle lock,
break-glass."""
